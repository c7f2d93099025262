using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// OCP® brown-out (issue #21): OCP® accepts connections and answers nothing for <c>stall</c> seconds while events
/// arrive at ~20/s over 300 conversations (each a new conversation's first event or a later one), through the
/// published gateway in StoreAndForward mode with its default attempt budget (8 s) and breaker. Reports answer
/// times during the stall, before and after the circuit opened, and that every event was delivered afterwards.
/// </summary>
internal static class BrownoutBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var directory = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Soak brownout <gateway folder> [stall seconds]");
        var stall = TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
        var hanging = true;
        var received = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        await using var upstream = await StandInServer.StartAsync(600, async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            if (Volatile.Read(ref hanging))
            {
                // Accepts, answers nothing: the gateway's attempt budget ends the wait.
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return Results.Empty;
            }

            using var document = JsonDocument.Parse(buffer.ToArray());
            received.AddOrUpdate(document.RootElement.GetProperty("payload").GetProperty("id").GetString()!, 1, (_, n) => n + 1);
            return Results.Json(new { accepted = true });
        });
        var work = Directory.CreateTempSubdirectory("gateway-brownout-").FullName;
        using var gateway = GatewayProcess.Start(directory, upstream.Urls.First(), new Dictionary<string, string>
        {
            ["Gateway__ExecutionTimeout"] = "00:00:10",
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["ConnectionStrings__Delivery"] = $"Data Source={Path.Combine(work, "deliveries.db")}",
            ["Gateway__Delivery__RetrySchedule__0"] = "00:00:01",
        });
        await gateway.WaitUntilReadyAsync();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);
        var clock = Stopwatch.StartNew();
        var opened = TimeSpan.MaxValue;
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && opened == TimeSpan.MaxValue)
            {
                var ready = await client.GetStringAsync(new Uri(gateway.Address, "/readyz"));
                if (ready.Contains("circuit open", StringComparison.Ordinal))
                {
                    opened = clock.Elapsed;
                }

                await Task.Delay(50);
            }
        });

        var answers = new ConcurrentBag<(TimeSpan SentAt, double Ms, int Status)>();
        var sends = new List<Task>();
        var sent = 0;
        while (clock.Elapsed < stall)
        {
            var n = sent++;
            var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                event_type = "message_created",
                conversation_id = "brownout-" + (n % 300),
                timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
                payload = new { id = n.ToString(System.Globalization.CultureInfo.InvariantCulture), content = "message " + n, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
            }));
            var at = clock.Elapsed;
            sends.Add(Task.Run(async () =>
            {
                var one = Stopwatch.StartNew();
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(new Uri(gateway.Address, "/talkdesk/events"), content);
                answers.Add((at, one.Elapsed.TotalMilliseconds, (int)response.StatusCode));
            }));
            await Task.Delay(50);
        }

        await Task.WhenAll(sends);
        await stop.CancelAsync();
        await watch;
        Volatile.Write(ref hanging, false);
        var recovering = Stopwatch.StartNew();
        while (received.Count < sent && recovering.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(100);
        }

        static string Percentiles(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? "none" : $"p50 {sorted[sorted.Length / 2]:0} ms, p95 {sorted[(int)(sorted.Length * 0.95)]:0} ms, n={sorted.Length}";
        }

        var all = answers.ToList();
        Console.WriteLine($"brown-out: {sent} events at ~20/s over 300 conversations while OCP® hung for {stall.TotalSeconds:0} s; answers {string.Join(", ", all.GroupBy(a => a.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}");
        Console.WriteLine($"  circuit open at {(opened == TimeSpan.MaxValue ? "never" : $"{opened.TotalSeconds:0.0} s")}");
        Console.WriteLine($"  answer time, whole stall:                {Percentiles(all.Select(a => a.Ms))}");
        Console.WriteLine($"  answer time, events sent before opening: {Percentiles(all.Where(a => a.SentAt < opened).Select(a => a.Ms))}");
        Console.WriteLine($"  answer time, events sent after opening:  {Percentiles(all.Where(a => a.SentAt >= opened).Select(a => a.Ms))}");
        Console.WriteLine($"  after OCP® answered again: {received.Count} of {sent} delivered in {recovering.Elapsed.TotalSeconds:0.0} s; repeats {received.Values.Count(v => v > 1)}");
        Directory.Delete(work, recursive: true);
        return received.Count == sent ? 0 : 1;
    }
}
