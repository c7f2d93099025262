using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// The store restarted under a running gateway (issue #21): PostgreSQL stopped with <c>pg_ctl stop -m immediate</c> while
/// events arrive every 20 ms and OCP® refuses them (so each must be parked), then started again. Reports how long after
/// <c>pg_ctl start</c> returned the first event was parked again, the answers while it was down (503, never 202), and that
/// every event answered 202 is in the store. Run by bench/store-restart.sh, which owns the PostgreSQL cluster.
/// </summary>
internal static class StoreRestartBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 4)
        {
            throw new ArgumentException("usage: Soak store-restart <gateway folder> <connection string> <stop command> <start command>");
        }

        var (directory, connectionString, stop, start) = (args[0], args[1], args[2], args[3]);
        await using var upstream = await StandInServer.StartAsync(600, _ => Task.FromResult(Results.StatusCode(503)));
        using var gateway = GatewayProcess.Start(directory, upstream.Urls.First(), new Dictionary<string, string>
        {
            ["Gateway__ExecutionTimeout"] = "00:00:10",
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["Gateway__Delivery__Store"] = "Postgres",
            ["ConnectionStrings__Delivery"] = connectionString,
            ["Gateway__Delivery__RetrySchedule__0"] = "01:00:00",
        });
        await gateway.WaitUntilReadyAsync();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);
        var answers = new List<(TimeSpan At, int Status, string Conversation)>();
        var clock = Stopwatch.StartNew();
        var phase = "up";
        TimeSpan stopped = default, restarted = default;
        var n = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (phase == "up" && clock.Elapsed > TimeSpan.FromSeconds(2))
            {
                await ShellAsync(stop);
                stopped = clock.Elapsed;
                phase = "down";
            }
            else if (phase == "down" && clock.Elapsed > stopped + TimeSpan.FromSeconds(5))
            {
                await ShellAsync(start);
                restarted = clock.Elapsed;
                phase = "back";
            }

            var conversation = "restart-" + n++;
            var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                event_type = "message_created",
                conversation_id = conversation,
                timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
                payload = new { id = conversation, content = "message " + n, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
            }));
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync(new Uri(gateway.Address, "/talkdesk/events"), content);
            answers.Add((clock.Elapsed, (int)response.StatusCode, conversation));
            if (phase == "back" && response.StatusCode == System.Net.HttpStatusCode.Accepted && clock.Elapsed > restarted + TimeSpan.FromSeconds(2))
            {
                break;
            }

            await Task.Delay(20);
        }

        var firstParked = answers.FirstOrDefault(a => a.At >= restarted && a.Status == 202);
        var during = answers.Where(a => a.At >= stopped && a.At < restarted).ToList();
        await using var source = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("SELECT conversation_id FROM ocp_deliveries");
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }
        }

        var lost = answers.Count(a => a.Status == 202 && !stored.Contains(a.Conversation));
        Console.WriteLine($"store restart: PostgreSQL down {(restarted - stopped).TotalSeconds:0.0} s; answers while down: {string.Join(", ", during.GroupBy(a => a.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}");
        Console.WriteLine(firstParked == default
            ? "  never parked again"
            : $"  parking again {(firstParked.At - restarted).TotalSeconds:0.00} s after pg_ctl start returned");
        Console.WriteLine($"  answered 202 but not stored: {lost}");
        return firstParked != default && lost == 0 && during.All(a => a.Status != 202) ? 0 : 1;
    }

    private static async Task ShellAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true })!;
        await process.WaitForExitAsync();
    }
}
