// The baseline of bench/load.sh: the same YARP as the gateway, with none of the gateway's steps
// (no schema check, token, timeout, metrics or inbound auth). Routes come from the command line:
//   --ReverseProxy:Routes:all:ClusterId=up --ReverseProxy:Routes:all:Match:Path={**any}
//   --ReverseProxy:Clusters:up:Destinations:d:Address=http://127.0.0.1:18081/ocp
// With --Middleware=all (or a comma-separated subset of exceptions, statuspages, timeouts, forwarded,
// auth) it adds only ASP.NET Core's standard middleware the gateway also runs (problem details and the
// exception handler, status-code pages, request timeouts, forwarded headers, authentication and
// authorization with an API-key policy on the route): what the framework costs before any of the
// gateway's own code (SET=framework bash bench/ablation.sh).
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
var middleware = (builder.Configuration["Middleware"] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
bool With(string name) => middleware.Contains("all") || middleware.Contains(name);
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
builder.Services.AddProblemDetails();
builder.Services.AddRequestTimeouts(o => o.DefaultPolicy = new RequestTimeoutPolicy { Timeout = TimeSpan.FromSeconds(10) });
if (With("auth"))
{
    // Only then: with authentication or authorization services registered, WebApplication adds both
    // middleware to the pipeline by itself, and every other variant (bare YARP too) would pay for them.
    builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>("key", null);
    builder.Services.AddAuthorizationBuilder().AddPolicy("key", p => p.AddAuthenticationSchemes("key").RequireAuthenticatedUser());
}

var app = builder.Build();
if (With("exceptions"))
{
    app.UseExceptionHandler();
}

if (With("statuspages"))
{
    app.UseStatusCodePages();
}

if (With("timeouts"))
{
    app.UseRequestTimeouts();
}

if (With("forwarded"))
{
    app.UseForwardedHeaders();
}

var proxy = app.MapReverseProxy();
if (With("auth"))
{
    app.UseAuthentication();
    app.UseAuthorization();
    proxy.RequireAuthorization("key");
}

app.Run();

/// <summary>An API-key check as a plain ASP.NET Core handler: SHA-256 of the presented key, constant-time compare.</summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly byte[] Expected = SHA256.HashData(Encoding.UTF8.GetBytes("bench-inbound-key-0001"));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Request.Headers["X-API-Key"].ToString();
        if (presented.Length == 0 || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), Expected))
        {
            return Task.FromResult(AuthenticateResult.Fail("no or wrong key"));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "talkdesk")], Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }
}
