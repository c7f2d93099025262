using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.OperatorConsole;

/// <summary>
/// The operator console at <c>/console/</c> on the management port: ASP.NET Core Razor Pages, signed in with an admin
/// key (cookie authentication), acting through the same operations as the admin API. Off unless store-and-forward is on
/// and an admin key is configured. (Namespace <c>OperatorConsole</c>, folder <c>Console/</c>: a namespace named
/// <c>Console</c> would hide <see cref="System.Console"/> from the rest of the gateway.)
/// </summary>
public static class ConsoleExtensions
{
    /// <summary>The cookie scheme and the authorization policy of the console.</summary>
    public const string Scheme = "Console";

    /// <summary>The rate-limiting policy of the sign-in form.</summary>
    public const string SignInLimit = "console-sign-in";

    /// <summary>Where the console lives.</summary>
    public const string PathBase = "/console";

    /// <summary>Adds the console's pages, cookie, policy and sign-in limit when it is on.</summary>
    public static IHostApplicationBuilder AddOperatorConsole(this IHostApplicationBuilder builder)
    {
        if (!IsOn(builder.Configuration))
        {
            return builder;
        }

        var services = builder.Services;
        // Razor escapes every non-ASCII character by default (® as &#xAE;, a customer's accents as entities); the pages are
        // UTF-8, so only what HTML needs escaped is.
        services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(options =>
            options.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        services.AddSingleton<RejectionHistory>();
        services.AddHostedService(provider => provider.GetRequiredService<RejectionHistory>());
        services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Console/Pages";
            options.Conventions.AuthorizeFolder("/", Scheme);
            options.Conventions.AllowAnonymousToPage("/SignIn");
            // Every page under /console/ (Razor Pages would put them at the root).
            options.Conventions.AddFolderRouteModelConvention("/", model =>
            {
                foreach (var selector in model.Selectors)
                {
                    selector.AttributeRouteModel!.Template = "console/" + selector.AttributeRouteModel.Template;
                }
            });
        });
        services.AddAuthentication().AddCookie(Scheme, options =>
        {
            options.LoginPath = PathBase + "/SignIn";
            options.LogoutPath = PathBase + "/SignIn";
            options.AccessDeniedPath = PathBase + "/SignIn";
            options.Cookie.Name = "ocp-console";
            options.Cookie.Path = PathBase;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromMinutes(30);
            options.SlidingExpiration = true;
        });
        services.AddAuthorizationBuilder().AddPolicy(Scheme, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        // Twenty sign-in page requests a minute per client address: guessing a key through the form is slow.
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(SignInLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        return builder;
    }

    /// <summary>Rate limiting for the console's paths only (the event path never meets it).</summary>
    public static WebApplication UseOperatorConsole(this WebApplication app)
    {
        if (IsOn(app.Configuration))
        {
            app.UseWhen(context => context.Request.Path.StartsWithSegments(PathBase), console =>
            {
                console.Use((context, next) =>
                {
                    // Pages carry held events' ids, errors and (on request) a customer's chat: never cached, never framed,
                    // nothing loaded from elsewhere (the one stylesheet is in the page).
                    var headers = context.Response.Headers;
                    headers.CacheControl = "no-store";
                    headers.XContentTypeOptions = "nosniff";
                    headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                    headers["Referrer-Policy"] = "no-referrer";
                    return next(context);
                });
                console.UseRateLimiter();
            });
        }

        return app;
    }

    /// <summary>Maps the pages on the management port.</summary>
    public static WebApplication MapOperatorConsole(this WebApplication app)
    {
        if (IsOn(app.Configuration))
        {
            app.MapRazorPages().RequireManagementPort(app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value);
        }

        return app;
    }

    /// <summary>On with store-and-forward and at least one admin key.</summary>
    internal static bool IsOn(IConfiguration configuration) =>
        DeliveryExtensions.IsStoreAndForward(configuration)
        && (configuration.GetSection(DeliveryOptions.SectionName + ":AdminApiKeys").GetChildren().Any()
            || configuration.GetSection(DeliveryOptions.SectionName + ":AdminKeys").GetChildren().Any());
}
