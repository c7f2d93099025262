using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// The drain after an outage (issue #21): OCP® fails fast (503) while <c>backlog</c> events over 300 conversations are
/// parked; then it comes back as a stand-in that serves 16 requests in flight or 400/s (40 ms each) and answers 429 with
/// <c>Retry-After: 1</c> above that, while live events arrive at ~20/s on new conversations. Reports the drain's delivered
/// rate against that capacity, the share of 429s, live answer times and first-delivery times, and checks that nothing was
/// lost, repeated or reordered. With <c>STANDIN=unlimited</c> (issue #24) the stand-in takes everything at once, so the
/// drain is bounded by the gateway and its store alone; with <c>GATEWAY_SOAK_POSTGRES</c> set, the store is PostgreSQL.
/// </summary>
internal static class DrainBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var directory = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Soak drain <gateway folder> [backlog] [extra settings k=v ...]");
        var backlog = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3000;
        var unlimited = Environment.GetEnvironmentVariable("STANDIN") == "unlimited";
        var capacity = unlimited ? int.MaxValue : 16;
        var rateLimit = unlimited ? int.MaxValue : 400;
        var serviceTime = unlimited ? TimeSpan.Zero : TimeSpan.FromMilliseconds(1000.0 * capacity / rateLimit);
        var postgres = Environment.GetEnvironmentVariable("GATEWAY_SOAK_POSTGRES");
        var down = true;
        var inFlight = 0;
        long attempts = 0, refused = 0;
        var window = new RateWindow(rateLimit);
        var backlogDelivered = 0;
        var clock = Stopwatch.StartNew();
        var firstDelivery = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
        var repeats = 0;
        var order = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var outOfOrder = 0;
        var deliveredAt = new ConcurrentQueue<TimeSpan>();
        await using var upstream = await StandInServer.StartAsync(600, async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            if (Volatile.Read(ref down))
            {
                return Results.StatusCode(503);
            }

            Interlocked.Increment(ref attempts);
            try
            {
                if (Interlocked.Increment(ref inFlight) > capacity || (!unlimited && !window.TryTake()))
                {
                    Interlocked.Increment(ref refused);
                    context.Response.Headers.RetryAfter = "1";
                    return Results.StatusCode(429);
                }

                if (serviceTime > TimeSpan.Zero)
                {
                    await Task.Delay(serviceTime);
                }
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }

            using var document = JsonDocument.Parse(buffer.ToArray());
            var root = document.RootElement;
            var id = root.GetProperty("payload").GetProperty("id").GetString()!;
            if (!firstDelivery.TryAdd(id, clock.Elapsed))
            {
                Interlocked.Increment(ref repeats);
            }
            else
            {
                deliveredAt.Enqueue(clock.Elapsed);
                if (!id.StartsWith("live", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref backlogDelivered);
                }
            }

            // Events of one conversation carry increasing numbers: each must arrive after the one before it.
            var conversation = root.GetProperty("conversation_id").GetString()!;
            var n = int.Parse(id.AsSpan(id.IndexOf('.', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);
            var before = order.AddOrUpdate(conversation, n, (_, last) => Math.Max(last, n));
            if (before != n)
            {
                Interlocked.Increment(ref outOfOrder);
            }

            return Results.Json(new { accepted = true });
        });

        var work = Directory.CreateTempSubdirectory("gateway-drain-").FullName;
        var settings = new Dictionary<string, string>
        {
            ["Gateway__ExecutionTimeout"] = "00:00:10",
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["ConnectionStrings__Delivery"] = postgres ?? $"Data Source={Path.Combine(work, "deliveries.db")}",
            ["Gateway__Delivery__Store"] = postgres is null ? "Sqlite" : "Postgres",
            ["Gateway__Delivery__RetrySchedule__0"] = "00:00:01",
        };
        foreach (var pair in args.Skip(2))
        {
            var split = pair.IndexOf('=', StringComparison.Ordinal);
            settings[pair[..split]] = pair[(split + 1)..];
        }

        using var gateway = GatewayProcess.Start(directory, upstream.Urls.First(), settings);
        await gateway.WaitUntilReadyAsync();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);

        // The outage: every event parked (OCP® fails fast; the breaker soon parks them at once).
        var next = new int[300];
        var parking = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(32))
        {
            var parks = Enumerable.Range(0, backlog).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var conversation = i % 300;
                    var number = Interlocked.Increment(ref next[conversation]);
                    var (status, _) = await SendAsync(client, gateway.Address, "drain-" + conversation, $"{conversation}.{number}");
                    return status;
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            var statuses = await Task.WhenAll(parks);
            Console.WriteLine($"outage: {backlog} events over 300 conversations parked in {parking.Elapsed.TotalSeconds:0.0} s ({backlog / parking.Elapsed.TotalSeconds:0}/s, 32 at a time); answers {string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}");
        }

        Console.WriteLine($"  store size with the backlog held: {await StoreBytesAsync(postgres, work) / (double)backlog:0} bytes per event");

        // OCP® back, capacity-limited; live events at ~20/s on new conversations while the backlog drains.
        var back = clock.Elapsed;
        var (cpuBefore, writtenBefore) = Usage(gateway.ProcessId);
        Volatile.Write(ref down, false);
        var live = new ConcurrentBag<(string Id, TimeSpan SentAt, double AnswerMs, int Status)>();
        var sends = new List<Task>();
        var liveCount = 0;
        var deadline = back + TimeSpan.FromMinutes(3);
        while (clock.Elapsed < deadline && Volatile.Read(ref backlogDelivered) < backlog)
        {
            var n = liveCount++;
            var id = $"live{n}.1";
            var sentAt = clock.Elapsed;
            sends.Add(Task.Run(async () =>
            {
                var (status, ms) = await SendAsync(client, gateway.Address, "live-" + n, id);
                live.Add((id, sentAt, ms, status));
            }));
            await Task.Delay(50);
        }

        await Task.WhenAll(sends);
        var drained = clock.Elapsed;
        var (cpuAfter, writtenAfter) = Usage(gateway.ProcessId);
        var wait = Stopwatch.StartNew();
        while (live.Any(l => !firstDelivery.ContainsKey(l.Id)) && wait.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        var drainSeconds = (drained - back).TotalSeconds;
        var delivered = deliveredAt.Where(t => t >= back && t <= drained).ToArray();
        var perSecond = delivered.GroupBy(t => (int)(t - back).TotalSeconds).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
        var liveFirst = live.Where(l => firstDelivery.ContainsKey(l.Id)).Select(l => (firstDelivery[l.Id] - l.SentAt).TotalMilliseconds);
        Console.WriteLine($"drain ({(postgres is null ? "SQLite" : "PostgreSQL")}): {Volatile.Read(ref backlogDelivered)} of {backlog} backlog events delivered in {drainSeconds:0.0} s after OCP® came back, with {live.Count} live events");
        Console.WriteLine($"  gateway while draining: {(cpuAfter - cpuBefore).TotalMicroseconds / Math.Max(1, delivered.Length):0} us CPU and " +
            $"{(writtenAfter - writtenBefore) / 1024.0 / Math.Max(1, delivered.Length):0.0} KB written to storage per delivered event");
        Console.WriteLine($"  delivered rate {delivered.Length / drainSeconds:0} events/s{(unlimited ? " (the stand-in takes everything)" : $" = {100.0 * delivered.Length / drainSeconds / rateLimit:0} % of the stand-in's {rateLimit}/s")}; per second: {string.Join(' ', perSecond)}");
        // The first delivery after OCP® came back is the breaker's probe closing it: from there on, the drain proper.
        var closed = delivered.Length > 0 ? delivered.Min() : drained;
        var lastBacklog = firstDelivery.Where(k => !k.Key.StartsWith("live", StringComparison.Ordinal)).Max(k => k.Value);
        var proper = deliveredAt.Count(t => t >= closed && t <= lastBacklog) / (lastBacklog - closed).TotalSeconds;
        Console.WriteLine($"  breaker closed {(closed - back).TotalSeconds:0.00} s after OCP® came back; from then to the last backlog event {proper:0} events/s{(unlimited ? "" : $" = {100 * proper / rateLimit:0} %")}");
        Console.WriteLine($"  live first delivery, sent after the breaker closed: {Percentiles(live.Where(l => l.SentAt >= closed && firstDelivery.ContainsKey(l.Id)).Select(l => (firstDelivery[l.Id] - l.SentAt).TotalMilliseconds))}");
        Console.WriteLine($"  attempts {attempts}, answered 429: {refused} ({100.0 * refused / Math.Max(1, attempts):0.0} %)");
        Console.WriteLine($"  live answer time:    {Percentiles(live.Select(l => l.AnswerMs))}; answers {string.Join(", ", live.GroupBy(l => l.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}");
        Console.WriteLine($"  live first delivery: {Percentiles(liveFirst)}; not delivered {live.Count(l => !firstDelivery.ContainsKey(l.Id))}");
        Console.WriteLine($"  live events parked (202), sent at s after OCP® came back: {string.Join(' ', live.Where(l => l.Status == 202).Select(l => (l.SentAt - back).TotalSeconds).Order().Select(t => t.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"  repeats {repeats}, out of order {outOfOrder}");
        Directory.Delete(work, recursive: true);
        return Volatile.Read(ref backlogDelivered) == backlog && repeats == 0 && outOfOrder == 0 && live.All(l => firstDelivery.ContainsKey(l.Id)) ? 0 : 1;
    }

    /// <summary>What the store takes on disk: the SQLite file and its WAL, or the PostgreSQL database.</summary>
    private static async Task<long> StoreBytesAsync(string? postgres, string work)
    {
        if (postgres is null)
        {
            return Directory.GetFiles(work, "deliveries.db*").Sum(f => new FileInfo(f).Length);
        }

        await using var source = Npgsql.NpgsqlDataSource.Create(postgres);
        await using var command = source.CreateCommand("SELECT pg_database_size(current_database())");
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Percentiles(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? "none" : $"p50 {sorted[sorted.Length / 2]:0} ms, p95 {sorted[(int)(sorted.Length * 0.95)]:0} ms, max {sorted[^1]:0} ms, n={sorted.Length}";
    }

    private static async Task<(int Status, double Ms)> SendAsync(HttpClient client, Uri gateway, string conversation, string id)
    {
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            event_type = "message_created",
            conversation_id = conversation,
            timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
            payload = new { id, content = "message " + id, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
        }));
        var one = Stopwatch.StartNew();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(new Uri(gateway, "/talkdesk/events"), content);
        return ((int)response.StatusCode, one.Elapsed.TotalMilliseconds);
    }

    /// <summary>At most <c>perSecond</c> requests in any 100 ms slice's share (a token bucket refilled every 10 ms, no burst beyond 100 ms).</summary>
    private sealed class RateWindow(int perSecond)
    {
        private readonly Lock _gate = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _tokens = perSecond / 10.0;
        private TimeSpan _last;

        public bool TryTake()
        {
            lock (_gate)
            {
                var now = _clock.Elapsed;
                _tokens = Math.Min(perSecond / 10.0, _tokens + ((now - _last).TotalSeconds * perSecond));
                _last = now;
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens--;
                return true;
            }
        }
    }

    /// <summary>The gateway's CPU time so far and the bytes it has caused to be written to storage (Linux /proc).</summary>
    private static (TimeSpan Cpu, long Written) Usage(int processId)
    {
        using var process = Process.GetProcessById(processId);
        var written = File.ReadLines($"/proc/{processId}/io").Where(l => l.StartsWith("write_bytes:", StringComparison.Ordinal))
            .Select(l => long.Parse(l["write_bytes:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        return (process.TotalProcessorTime, written);
    }
}
