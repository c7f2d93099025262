using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>
/// One conversation's held events in order; on its head, "Retry now" (due at once) and "Skip" (set aside, kept and
/// replayable, so the rest of the conversation goes on). Audited under the signed-in key's name.
/// </summary>
public sealed class ConversationModel(DeliveryOperations operations, ILoggerFactory loggers) : PageModel
{
    /// <summary>The conversation id.</summary>
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = string.Empty;

    internal IReadOnlyList<DeliveryView> Events { get; private set; } = [];

    /// <summary>Each event's attempts, oldest first, by event id.</summary>
    internal ILookup<string, DeliveryAttempt> Attempts { get; private set; } = Array.Empty<DeliveryAttempt>().ToLookup(a => string.Empty);

    /// <summary>The event whose body was asked for, with the body (or why it cannot be shown); never set by a GET.</summary>
    internal (string Id, string? Body, string? Why)? Shown { get; private set; }

    /// <summary>The id of the conversation's head (its first pending or dead event), or null.</summary>
    public string? HeadId { get; private set; }

    /// <summary>What the last action did, or null.</summary>
    [TempData]
    public string? Done { get; set; }

    public Task OnGetAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        Events = await operations.ConversationAsync(Id);
        HeadId = Events.FirstOrDefault(e => e.State is "pending" or "leased" or "dead")?.Id;
        Attempts = (await operations.AttemptsAsync(Id)).ToLookup(a => a.DeliveryId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// A customer's chat is shown only on this explicit POST (never by a GET, so no prefetch or history replays it), in
    /// this answer only (not kept for a redirect), and each showing is audited under the key's name.
    /// </summary>
    public async Task OnPostShowBodyAsync(long @event)
    {
        await LoadAsync();
        var (body, why) = await operations.BodyAsync(Id, @event);
        Audit("show-body", "event " + @event, body is null ? "not shown: " + why : "shown");
        Shown = (@event.ToString(System.Globalization.CultureInfo.InvariantCulture), body, why);
    }

    public async Task<IActionResult> OnPostRetryNowAsync(long @event)
    {
        var done = await operations.RetryNowAsync(@event);
        Audit("retry-now", "event " + @event, done ? "done" : "not a pending head");
        Done = done ? $"Event {@event} is due now." : $"Event {@event} is not a pending head any more.";
        return RedirectToPage(new { id = Id });
    }

    public async Task<IActionResult> OnPostSkipAsync(long @event)
    {
        var who = "console:" + User.Identity?.Name;
        var done = await operations.SkipAsync(@event, who);
        Audit("skip", "event " + @event, done ? "set aside" : "not a head");
        Done = done ? $"Event {@event} set aside (state stale, replayable from Dead letters); the conversation goes on." : $"Event {@event} is not the head any more.";
        return RedirectToPage(new { id = Id });
    }

    private void Audit(string action, string target, string outcome) =>
        DeliveryLog.AdminAction(loggers.CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit"), action, target, "console:" + User.Identity?.Name, outcome);
}
