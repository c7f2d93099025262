using Microsoft.AspNetCore.Mvc.RazorPages;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>One row per conversation with held events, failing heads first, paged.</summary>
public sealed class HeldModel(DeliveryOperations operations, TimeProvider time) : PageModel
{
    /// <summary>Conversations per page.</summary>
    public const int PageSize = 50;

    internal IReadOnlyList<HeldConversation> Rows { get; private set; } = [];

    /// <summary>The page shown, from 0.</summary>
    public int PageNumber { get; private set; }

    /// <summary>Now, for the ages.</summary>
    public DateTimeOffset Now { get; } = time.GetUtcNow();

    public async Task OnGetAsync(int p)
    {
        PageNumber = Math.Max(0, p);
        Rows = await operations.HeldAsync(PageNumber, PageSize);
    }
}
