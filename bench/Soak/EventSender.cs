using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>What was sent and answered, per event number.</summary>
internal sealed record SoakReport(int[] Status, string[] Hash, bool[] Invalid, List<(TimeSpan At, double RssMb)> Rss, TimeSpan Elapsed);

/// <summary>Sends the mixed events with bounded concurrency and samples the gateway's RSS.</summary>
internal sealed class EventSender(SoakSettings settings, GatewayProcess gateway)
{
    private static readonly string[] Types = ["conversation_started", "message_created", "conversation_ended"];

    public async Task<SoakReport> RunAsync()
    {
        var status = new int[settings.Events];
        var hash = new string[settings.Events];
        var invalid = new bool[settings.Events];
        var rss = new ConcurrentQueue<(TimeSpan, double)>();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency }) { BaseAddress = gateway.Address };
        client.DefaultRequestHeaders.Add("X-API-Key", GatewayProcess.ApiKey);
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                rss.Enqueue((clock.Elapsed, gateway.ResidentMegabytes()));
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), sampling.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        await Parallel.ForEachAsync(Enumerable.Range(0, settings.Events), new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency }, async (n, cancellationToken) =>
        {
            invalid[n] = Faults.Invalid(n);
            var body = Encoding.UTF8.GetBytes(Event(n, invalid[n]));
            hash[n] = Convert.ToHexString(SHA256.HashData(body));
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            try
            {
                using var response = await client.PostAsync("/talkdesk/events", content, cancellationToken);
                status[n] = (int)response.StatusCode;
            }
            catch (HttpRequestException)
            {
                status[n] = -1;
            }
        });

        sampling.Cancel();
        await sampler;
        rss.Enqueue((clock.Elapsed, gateway.ResidentMegabytes()));
        return new SoakReport(status, hash, invalid, [.. rss], clock.Elapsed);
    }

    private static string Event(int n, bool invalid)
    {
        var type = Types[n % 3];
        var id = $"soak-{n}";
        var head = $"\"event_type\":\"{type}\",\"conversation_id\":\"{id}\",\"timestamp\":\"2026-11-24T10:00:00.000Z\"";
        var payload = type switch
        {
            "conversation_started" => ",\"payload\":{\"contact_person\":{\"email\":\"c@example.com\"},\"user\":{\"name\":\"Ana\"},\"touchpoint\":{\"id\":\"tp\"},\"subject\":null}",
            "message_created" => $",\"payload\":{{\"id\":\"m-{n}\",\"content\":\"message {n} ✓\",\"created_at\":\"2026-11-24T10:00:00.000Z\",\"author\":{{\"name\":\"Ana\",\"type\":\"contact\"}}}}",
            _ => "",
        };
        if (!invalid)
        {
            return "{" + head + payload + "}";
        }

        return (n / 5 % 4) switch
        {
            0 => "{" + head + payload + ",\"unexpected\":1}",
            1 => "{" + head.Replace("\"timestamp\":\"2026-11-24T10:00:00.000Z\"", "\"timestamp\":42", StringComparison.Ordinal) + payload + "}",
            2 => "{" + head + payload,
            _ => "{" + head + ",\"conversation_id\":\"duplicate\"" + payload + "}",
        };
    }
}
