using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole.Pages;

/// <summary>Sign in with an admin key (its name, never the key, is what the audit line and the session keep); sign out.</summary>
[EnableRateLimiting(ConsoleExtensions.SignInLimit)]
public sealed class SignInModel(IOptionsMonitor<DeliveryOptions> options, ILoggerFactory loggers) : PageModel
{
    /// <summary>Why the last sign-in failed, or null.</summary>
    public string? Message { get; private set; }

    /// <summary>The console page to go back to after signing in.</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? adminKey)
    {
        var audit = loggers.CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit");
        var name = string.IsNullOrEmpty(adminKey) ? null : DeliveryAdminEndpoints.AdminName(adminKey, options.CurrentValue);
        if (name is null)
        {
            DeliveryLog.AdminAction(audit, "sign-in", "console", "nobody", "refused");
            Message = "That is not one of the configured admin keys.";
            return Page();
        }

        DeliveryLog.AdminAction(audit, "sign-in", "console", name, "signed in");
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], ConsoleExtensions.Scheme, ClaimTypes.Name, ClaimTypes.Role);
        await HttpContext.SignInAsync(ConsoleExtensions.Scheme, new ClaimsPrincipal(identity));
        return LocalRedirect(ReturnUrl is { } back && Url.IsLocalUrl(back) && back.StartsWith(ConsoleExtensions.PathBase + "/", StringComparison.Ordinal)
            ? back : ConsoleExtensions.PathBase + "/");
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        DeliveryLog.AdminAction(loggers.CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit"), "sign-out", "console", User.Identity?.Name ?? "nobody", "signed out");
        await HttpContext.SignOutAsync(ConsoleExtensions.Scheme);
        return RedirectToPage("/SignIn");
    }
}
