using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// The stand-in OCP®: counts, per event, how many deliveries it accepted and with which bytes, and
/// injects the faults of <see cref="Faults"/>. Also the token endpoint (60 s tokens, so renewals happen).
/// </summary>
internal sealed class CountingUpstream : IAsyncDisposable
{
    private WebApplication _app = null!;

    public string Address => _app.Urls.First();

    /// <summary>Per event number: accepted deliveries and the hash of each accepted body.</summary>
    public ConcurrentDictionary<int, ConcurrentBag<string>> Accepted { get; } = new();

    public ConcurrentDictionary<int, int> Seen { get; } = new();

    public static async Task<CountingUpstream> StartAsync()
    {
        var upstream = new CountingUpstream();
        upstream._app = await StandInServer.StartAsync(60, upstream.ReceiveAsync);
        return upstream;
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var bytes = buffer.ToArray();
        var n = EventNumber(bytes);
        var deliveries = Seen.AddOrUpdate(n, 1, (_, count) => count + 1);
        if (Faults.Unauthorized(n) && deliveries == 1)
        {
            return Results.StatusCode(401);
        }

        if (Faults.Reset(n))
        {
            context.Abort();
            return Results.Empty;
        }

        if (Faults.Slow(n))
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        Accepted.GetOrAdd(n, _ => []).Add(Convert.ToHexString(SHA256.HashData(bytes)));
        return Results.Json(new { accepted = true });
    }

    /// <summary>The n of "soak-n" in conversation_id, or -1.</summary>
    private static int EventNumber(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var id = document.RootElement.GetProperty("conversation_id").GetString() ?? "";
            return id.StartsWith("soak-", StringComparison.Ordinal) ? int.Parse(id.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture) : -1;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            return -1;
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
