using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>A conversation id, an event's store id or its idempotency key: opens the conversation, or says nothing matches.</summary>
public sealed class SearchModel(DeliveryOperations operations) : PageModel
{
    /// <summary>What was searched for.</summary>
    [BindProperty(SupportsGet = true)]
    public string Q { get; set; } = string.Empty;

    public async Task<IActionResult> OnGetAsync() =>
        string.IsNullOrWhiteSpace(Q) ? RedirectToPage("/Index")
            : await operations.FindAsync(Q) is { } conversation ? RedirectToPage("/Conversation", new { id = conversation }) : Page();
}
