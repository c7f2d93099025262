using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// Store-and-forward soak (issue #11): events over many conversations through gateway process(es) in
/// StoreAndForward mode while OCP® goes down twice (the second outage leaves a backlog at the end), with a
/// gateway killed by SIGKILL mid-outage and restarted. Talkdesk is played by senders that send each
/// conversation's events in order and resend an event (same bytes) until it is acknowledged (2xx or 202).
/// Then checks: no acknowledged event lost, none out of order within its conversation, every delivery
/// under the event's own Idempotency-Key; reports duplicates, parking and draining rates.
/// </summary>
internal static class DeliverySoak
{
    public static async Task<int> RunAsync(string[] args)
    {
        var directory = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Soak delivery <gateway folder> [events] [conversations] [sqlite|postgres]");
        var events = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var conversations = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 500;
        var postgres = args.Length > 3 && args[3] == "postgres";
        var perConversation = events / conversations;
        events = perConversation * conversations;

        await using var upstream = await OutageUpstream.StartAsync();
        var work = Directory.CreateTempSubdirectory("gateway-delivery-soak-").FullName;
        var extra = new Dictionary<string, string>
        {
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["Gateway__Delivery__Store"] = postgres ? "Postgres" : "Sqlite",
            ["ConnectionStrings__Delivery"] = postgres
                ? Environment.GetEnvironmentVariable("GATEWAY_SOAK_POSTGRES") ?? throw new InvalidOperationException("GATEWAY_SOAK_POSTGRES is not set")
                : $"Data Source={Path.Combine(work, "deliveries.db")}",
            ["Gateway__Delivery__AttemptBudget"] = "00:00:00.800",
            ["Gateway__Delivery__RetrySchedule__0"] = "00:00:00.200",
            ["Gateway__Delivery__RetrySchedule__1"] = "00:00:01",
            ["Gateway__Delivery__PollInterval"] = "00:00:00.100",
            ["Gateway__Delivery__LeaseDuration"] = "00:00:05",
        };
        // PostgreSQL: REPLICAS gateways (default 2) on one store, every event sent round-robin, so one
        // conversation's events reach different replicas. SQLite: one gateway.
        var replicaCount = postgres ? int.TryParse(Environment.GetEnvironmentVariable("REPLICAS"), out var n) && n > 0 ? n : 2 : 1;
        var ports = Enumerable.Range(0, replicaCount).Select(_ => GatewayProcess.FreePort()).ToArray();
        var replicas = ports.Select(port => GatewayProcess.Start(directory, upstream.Address, extra, port)).ToArray();
        foreach (var replica in replicas)
        {
            await replica.WaitUntilReadyAsync();
        }

        var acked = 0;
        var unacknowledged = 0;
        var parked = 0;
        var status = new int[conversations, perConversation];
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);
        var clock = Stopwatch.StartNew();
        var killed = false;
        var phases = Task.Run(async () =>
        {
            while (Volatile.Read(ref acked) < events)
            {
                var done = (double)Volatile.Read(ref acked) / events;
                upstream.Down = done is >= 0.2 and < 0.4 or >= 0.9;
                if (!killed && done >= 0.3)
                {
                    killed = true;
                    // A crash mid-outage: no shutdown, leases and in-flight requests left behind.
                    replicas[0].KillHard();
                    replicas[0] = GatewayProcess.Start(directory, upstream.Address, extra, ports[0]);
                    await replicas[0].WaitUntilReadyAsync();
                }

                await Task.Delay(20);
            }
        });

        var parkClock = new ConcurrentQueue<TimeSpan>();
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(Enumerable.Range(0, conversations).Select(c => Task.Run(async () =>
        {
            for (var s = 0; s < perConversation; s++)
            {
                var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
                {
                    event_type = "message_created",
                    conversation_id = "soak-" + c,
                    timestamp = "2026-11-25T10:00:00Z",
                    payload = new { id = s.ToString(System.Globalization.CultureInfo.InvariantCulture), content = "message " + s, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
                }));
                // Bounded like Talkdesk's patience: an event not acknowledged within a minute is given up.
                var giveUp = Stopwatch.StartNew();
                for (var attempt = 0; ; attempt++)
                {
                    if (giveUp.Elapsed > TimeSpan.FromMinutes(1))
                    {
                        Interlocked.Increment(ref unacknowledged);
                        Interlocked.Increment(ref acked);
                        break;
                    }

                    await gate.WaitAsync();
                    HttpStatusCode? answer = null;
                    try
                    {
                        using var content = new ByteArrayContent(body);
                        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                        using var response = await client.PostAsync(new Uri($"http://127.0.0.1:{ports[(c + s + attempt) % ports.Length]}/talkdesk/events"), content);
                        answer = response.StatusCode;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        // The replica is down (killed): Talkdesk's resend, same bytes.
                    }
                    finally
                    {
                        gate.Release();
                    }

                    if (answer is { } code && (int)code is >= 200 and < 300)
                    {
                        status[c, s] = (int)code;
                        if (code == HttpStatusCode.Accepted)
                        {
                            Interlocked.Increment(ref parked);
                            parkClock.Enqueue(clock.Elapsed);
                        }

                        Interlocked.Increment(ref acked);
                        break;
                    }

                    await Task.Delay(50);
                }
            }
        })));
        await phases;
        var sent = clock.Elapsed;
        var backlog = events - upstream.Accepted.Select(a => (a.Conversation, a.Sequence)).Distinct().Count();
        upstream.Down = false;
        var drainClock = Stopwatch.StartNew();
        while (upstream.Accepted.Select(a => (a.Conversation, a.Sequence)).Distinct().Count() < events && drainClock.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(100);
        }

        var drained = drainClock.Elapsed;
        foreach (var replica in replicas)
        {
            replica.Dispose();
        }

        var accepted = upstream.Accepted.OrderBy(a => a.Order).ToList();
        var first = new Dictionary<(int, int), long>();
        foreach (var a in accepted)
        {
            first.TryAdd((a.Conversation, a.Sequence), a.Order);
        }

        var lost = 0;
        var outOfOrder = 0;
        for (var c = 0; c < conversations; c++)
        {
            var previous = long.MinValue;
            for (var s = 0; s < perConversation; s++)
            {
                if (!first.TryGetValue((c, s), out var order))
                {
                    lost += status[c, s] != 0 ? 1 : 0;
                    continue;
                }

                outOfOrder += order < previous ? 1 : 0;
                previous = Math.Max(previous, order);
            }
        }

        var duplicates = accepted.Count - first.Count;
        var wrongKeys = accepted.Count(a => !a.KeyMatches);
        var parkTimes = parkClock.ToArray();
        Console.WriteLine($"delivery soak ({(postgres ? $"PostgreSQL, {ports.Length} replicas, round-robin" : "SQLite, 1 replica")}): {events} events over {conversations} conversations, " +
            $"sent and acknowledged in {sent.TotalSeconds:0.0} s; {parked} answered 202 (parked); one gateway killed with SIGKILL mid-outage and restarted");
        Console.WriteLine($"  backlog when OCP® came back for good: {backlog} events, drained in {drained.TotalSeconds:0.0} s ({(backlog / Math.Max(drained.TotalSeconds, 0.001)):0} events/s)");
        if (parkTimes.Length > 1)
        {
            Console.WriteLine($"  parking: {parkTimes.Length / Math.Max((parkTimes.Max() - parkTimes.Min()).TotalSeconds, 0.001):0} events/s over the outages");
        }

        Console.WriteLine($"  lost: {lost}, out of order: {outOfOrder}, delivered under another key: {wrongKeys}, repeats (same key): {duplicates}, never acknowledged (given up after 1 min): {unacknowledged}");
        Directory.Delete(work, recursive: true);
        return lost == 0 && outOfOrder == 0 && wrongKeys == 0 && unacknowledged == 0 ? 0 : 1;
    }
}
