using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>
/// The stand-in OCP® of the delivery soak: answers 503 while <see cref="Down"/>, else accepts and records,
/// in arrival order, every event's conversation, sequence number and Idempotency-Key.
/// </summary>
internal sealed class OutageUpstream : IAsyncDisposable
{
    private WebApplication _app = null!;
    private long _order;

    public string Address => _app.Urls.First();

    public volatile bool Down;

    /// <summary>Every accepted delivery: (arrival order, conversation, sequence, key, key matches the body).</summary>
    public ConcurrentQueue<(long Order, int Conversation, int Sequence, string Key, bool KeyMatches)> Accepted { get; } = new();

    public static async Task<OutageUpstream> StartAsync()
    {
        var upstream = new OutageUpstream();
        upstream._app = await StandInServer.StartAsync(600, upstream.ReceiveAsync);
        return upstream;
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        if (Down)
        {
            return Results.StatusCode(503);
        }

        var bytes = buffer.ToArray();
        using var document = JsonDocument.Parse(bytes);
        var conversation = int.Parse(document.RootElement.GetProperty("conversation_id").GetString()!.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
        var sequence = int.Parse(document.RootElement.GetProperty("payload").GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        Accepted.Enqueue((Interlocked.Increment(ref _order), conversation, sequence, key, key == Convert.ToHexStringLower(SHA256.HashData(bytes))));
        return Results.Json(new { accepted = true });
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
