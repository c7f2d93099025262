using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// The console under a real backlog (issue #22): with OCP® down, <c>held</c> events over <c>conversations</c>
/// conversations are parked through the gateway (every fifth conversation ends with a <c>conversation_ended</c> that
/// expires at once, so Dead letters lists set-aside events too), then each console page is fetched by a signed-in
/// client, sequentially, and the time to its last byte is reported (loopback, so this is the server's time plus a
/// little). The target: under 200 ms.
/// </summary>
internal static partial class ConsoleBench
{
    private const string AdminKey = "console-bench-admin-key-01";

    public static async Task<int> RunAsync(string[] args)
    {
        var directory = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Soak console <gateway folder> [held] [conversations] [extra settings k=v ...]");
        var held = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
        var conversations = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2_000;
        await using var upstream = await StandInServer.StartAsync(600, _ => Task.FromResult(Results.StatusCode(503)));
        var work = Directory.CreateTempSubdirectory("gateway-console-").FullName;
        var settings = new Dictionary<string, string>
        {
            ["Gateway__ExecutionTimeout"] = "00:00:10",
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["ConnectionStrings__Delivery"] = $"Data Source={Path.Combine(work, "deliveries.db")}",
            // Nothing is retried during the measurement: the backlog stands still.
            ["Gateway__Delivery__RetrySchedule__0"] = "01:00:00",
            ["Gateway__Delivery__AdminKeys__bench"] = AdminKey,
            ["Gateway__Delivery__ExpireAfter__conversation_ended"] = "00:00:01",
        };
        foreach (var pair in args.Skip(3))
        {
            var split = pair.IndexOf('=', StringComparison.Ordinal);
            settings[pair[..split]] = pair[(split + 1)..];
        }

        using var gateway = GatewayProcess.Start(directory, upstream.Urls.First(), settings);
        await gateway.WaitUntilReadyAsync();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);

        var parking = Stopwatch.StartNew();
        var perConversation = held / conversations;
        var statuses = new int[600];
        var searchedKey = string.Empty;
        using (var gate = new SemaphoreSlim(32))
        {
            await Task.WhenAll(Enumerable.Range(0, held).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    // Conversation-major order is not needed: each conversation's events go in its own order anyway.
                    var (conversation, n) = (i % conversations, i / conversations);
                    var ended = n == perConversation - 1 && conversation % 5 == 0;
                    var body = Event($"console-{conversation:D5}", $"{conversation}.{n}", ended);
                    if (i == held - 1)
                    {
                        // The key an operator would search for: the SHA-256 of the event's bytes (IdempotencyKey).
                        searchedKey = Convert.ToHexStringLower(SHA256.HashData(body));
                    }

                    using var answer = await client.PostAsync(new Uri(gateway.Address, "/talkdesk/events"),
                        new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
                    Interlocked.Increment(ref statuses[(int)answer.StatusCode]);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        Console.WriteLine($"parked {held} events over {conversations} conversations in {parking.Elapsed.TotalSeconds:0.0} s; answers " +
            string.Join(", ", statuses.Select((count, status) => (count, status)).Where(p => p.count > 0).Select(p => $"{p.status}: {p.count}")));

        // The set-aside sweep runs on the worker's rounds: wait until the ended events are stale.
        await Task.Delay(TimeSpan.FromSeconds(3));
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = gateway.Address };
        var signIn = await browser.GetStringAsync("/console/SignIn");
        var token = Token().Match(signIn).Groups["token"].Value;
        using (var form = new FormUrlEncodedContent([new("AdminKey", AdminKey), new("__RequestVerificationToken", token)]))
        using (var answer = await browser.PostAsync("/console/SignIn", form))
        {
            if (answer.StatusCode != HttpStatusCode.Redirect)
            {
                Console.WriteLine($"sign-in failed: {(int)answer.StatusCode}");
                return 1;
            }
        }

        var lastPage = Math.Max(0, (conversations - 1) / 50);
        var pages = new (string Name, string Path)[]
        {
            ("overview", "/console/"),
            ("held, first page", "/console/Held"),
            ($"held, page {lastPage + 1}", $"/console/Held?p={lastPage}"),
            ("a conversation", "/console/Conversation/console-00001"),
            ("dead letters", "/console/DeadLetters"),
            ("search (conversation id)", $"/console/Search?q=console-{conversations - 1:D5}"),
            // SQLite finds a key by a scan of the received index (it keeps no index on a random key).
            ("search (idempotency key)", $"/console/Search?q={searchedKey}"),
        };
        var slowest = 0.0;
        foreach (var (name, path) in pages)
        {
            var times = new List<double>();
            var bytes = 0;
            for (var round = 0; round < 60; round++)
            {
                var started = Stopwatch.GetTimestamp();
                using var answer = await browser.GetAsync(path);
                var body = await answer.Content.ReadAsByteArrayAsync();
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                // A search that finds its conversation redirects to it; one that finds nothing answers 200.
                var expected = path.StartsWith("/console/Search", StringComparison.Ordinal) ? HttpStatusCode.Redirect : HttpStatusCode.OK;
                if (answer.StatusCode != expected)
                {
                    Console.WriteLine($"{path} answered {(int)answer.StatusCode}");
                    return 1;
                }

                // The first ten warm the page up (Razor compiles on first use, connections open).
                if (round >= 10)
                {
                    times.Add(ms);
                    bytes = body.Length;
                }
            }

            times.Sort();
            var p95 = times[(int)(times.Count * 0.95)];
            slowest = Math.Max(slowest, p95);
            Console.WriteLine($"  {name,-26} p50 {times[times.Count / 2],6:0.0} ms  p95 {p95,6:0.0} ms  max {times[^1],6:0.0} ms  ({bytes / 1024.0:0} KB)");
        }

        Console.WriteLine($"slowest page p95 {slowest:0.0} ms (target < 200 ms)");
        Directory.Delete(work, recursive: true);
        return slowest < 200 ? 0 : 1;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"(?<token>[^\"]+)\"")]
    private static partial Regex Token();

    private static byte[] Event(string conversation, string id, bool ended) => Encoding.UTF8.GetBytes(ended
        ? JsonSerializer.Serialize(new
        {
            event_type = "conversation_ended",
            conversation_id = conversation,
            timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        })
        : JsonSerializer.Serialize(new
        {
            event_type = "message_created",
            conversation_id = conversation,
            timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
            payload = new { id, content = "message " + id, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
        }));
}
