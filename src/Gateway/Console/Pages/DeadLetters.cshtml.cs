using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>
/// Dead letters: replay one (with the dead events after it in its conversation) or all; discard one after a
/// confirmation step. The same operations as the admin API, audited the same way under the signed-in key's name.
/// </summary>
public sealed class DeadLettersModel(DeliveryOperations operations, TimeProvider time, ILoggerFactory loggers) : PageModel
{
    internal IReadOnlyList<DeliveryView> Rows { get; private set; } = [];

    internal DeliveryView? Confirm { get; private set; }

    /// <summary>The conversation whose dead letters are to be discarded after a confirmation, with how many, or null.</summary>
    internal (string Id, int Count)? ConfirmConversation { get; private set; }

    /// <summary>The conversations of the rows, with how many dead letters each, in the order they first appear.</summary>
    internal IReadOnlyList<(string Id, int Count)> Conversations { get; private set; } = [];

    /// <summary>What the last action did, or null.</summary>
    [TempData]
    public string? Done { get; set; }

    /// <summary>Now, for the ages.</summary>
    public DateTimeOffset Now { get; } = time.GetUtcNow();

    public async Task OnGetAsync(long? confirm, string? confirmConversation)
    {
        // Dead letters and events set aside (stale: too late, or skipped): both kept, replayable, never delivered alone.
        Rows = [.. await operations.ListAsync(DeliveryStates.Dead, 100), .. await operations.ListAsync(DeliveryStates.Stale, 100)];
        Conversations = [.. Rows.GroupBy(r => r.ConversationId, StringComparer.Ordinal).Select(g => (g.Key, g.Count()))];
        var id = confirm?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Confirm = id is null ? null : Rows.FirstOrDefault(r => r.Id == id);
        ConfirmConversation = Conversations.FirstOrDefault(c => c.Id == confirmConversation) is { Id: not null } found ? found : null;
    }

    public async Task<IActionResult> OnPostReplayConversationAsync(string conversation)
    {
        var count = await operations.ReplayConversationAsync(conversation);
        Audit("replay-conversation", "conversation " + conversation, $"{count} replayed");
        Done = $"Replayed {count} event(s) of conversation {conversation}.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDiscardConversationAsync(string conversation)
    {
        var count = await operations.DiscardConversationAsync(conversation);
        Audit("discard-conversation", "conversation " + conversation, $"{count} discarded");
        Done = $"Discarded {count} event(s) of conversation {conversation}.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostReplayAsync(long id)
    {
        var count = await operations.ReplayAsync(id);
        Audit("replay-one", "event " + id, count == 0 ? "404" : $"200 ({count} replayed)");
        Done = count == 0 ? $"Event {id} is no longer dead." : $"Replayed {count} event(s) of event {id}'s conversation.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostReplayAllAsync()
    {
        var count = await operations.ReplayAsync(null);
        Audit("replay", "every dead event", $"200 ({count} replayed)");
        Done = $"Replayed {count} event(s).";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDiscardAsync(long id)
    {
        var discarded = await operations.DiscardAsync(id);
        Audit("discard", "event " + id, discarded ? "204" : "404");
        Done = discarded ? $"Discarded event {id}." : $"Event {id} is no longer held.";
        return RedirectToPage();
    }

    private void Audit(string action, string target, string outcome) =>
        DeliveryLog.AdminAction(loggers.CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit"), action, target, "console:" + User.Identity?.Name, outcome);
}
