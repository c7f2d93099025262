using Microsoft.AspNetCore.Mvc.RazorPages;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>The overview: events by state, the oldest held event's age, the breaker and the store.</summary>
public sealed class IndexModel(DeliveryOperations operations, RejectionHistory rejections, TimeProvider time) : PageModel
{
    /// <summary>The page's clock reading, so every age on it is from one instant.</summary>
    public DateTimeOffset Now { get; private set; }

    /// <summary>When OCP® last took an event, or null since start.</summary>
    public DateTimeOffset? LastOcpSuccess => operations.LastOcpSuccess;

    /// <summary>True while OCP® failed the last event sent to it.</summary>
    public bool OcpFailing => operations.OcpFailing;

    /// <summary>Schema rejections since <see cref="RejectionsSince"/>, by event type and keyword.</summary>
    internal IReadOnlyList<(string EventType, string Keyword, long Count)> Rejections { get; private set; } = [];

    /// <summary>An hour ago, or the gateway's start when later.</summary>
    public DateTimeOffset RejectionsSince { get; private set; }

    /// <summary>Events by state.</summary>
    public IReadOnlyList<(string State, long Count)> Counts { get; private set; } = [];

    /// <summary>How long the oldest held event has waited, or null when none is held.</summary>
    public TimeSpan? OldestHeld { get; private set; }

    /// <summary>The cluster whose circuit is open, or null.</summary>
    public string? OpenCircuit => operations.OpenCircuit;

    /// <summary>The store's last error while failing, or null.</summary>
    public string? StoreError => operations.StoreError;

    public async Task OnGetAsync()
    {
        Now = time.GetUtcNow();
        var (counts, oldest) = await operations.StatsAsync();
        Counts = [.. DeliveryStates.All.Select(s => (s, counts.TryGetValue(s, out var n) ? n : 0))];
        OldestHeld = oldest is { } received ? Now - received : null;
        (RejectionsSince, Rejections) = rejections.LastHour();
    }

    /// <summary>An age as people read it: 45 s, 12 min, 3 h 5 min, 2 d 4 h.</summary>
    public static string Age(TimeSpan age) => age switch
    {
        { TotalMinutes: < 1 } => $"{Math.Max(0, (int)age.TotalSeconds)} s",
        { TotalHours: < 1 } => $"{(int)age.TotalMinutes} min",
        { TotalDays: < 1 } => $"{(int)age.TotalHours} h {age.Minutes} min",
        _ => $"{(int)age.TotalDays} d {age.Hours} h",
    };
}
