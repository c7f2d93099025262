using System.Security.Claims;
using idunno.Authentication.Basic;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using OcpTalkdesk.Gateway.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// Inbound authentication on ASP.NET Core's authentication and authorization: each method of
/// <c>Gateway:InboundAuth</c> becomes an authentication scheme and an authorization policy of the same
/// name, which a YARP route selects with its <c>AuthorizationPolicy</c>.
/// </summary>
public static class InboundAuthExtensions
{
    /// <summary>The setting listing proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.</summary>
    public const string TrustedProxiesKey = "Gateway:TrustedProxies";

    /// <summary>Registers the configured methods' schemes and policies, the refusal answers and the credential stripping.</summary>
    public static IHostApplicationBuilder AddInboundAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(InboundAuthOptions.SectionName);
        var names = section.GetChildren().Select(c => c.Key).ToArray();
        services.TryAddSingleton(new InboundAuthMethods(names));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InboundAuthOptions>, InboundAuthOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<ApiKeyAuthenticationOptions>, ApiKeyOptionsPostConfigure>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiKeyAuthenticationOptions>, ApiKeyOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, AllowedNetworksHandler>());
        services.TryAddSingleton<IAuthorizationMiddlewareResultHandler, InboundAuthResultHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, InboundCredentialsTransformProvider>());
        services.AddHostedService<InboundAuthStartupCheck>();

        // Each route's policy names its own scheme. Without this switch ASP.NET Core makes a lone
        // scheme the default, and the authentication middleware would authenticate every request a
        // second time (measured: about a tenth of the gateway's CPU per event).
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        var authentication = services.AddAuthentication();
        var authorization = services.AddAuthorizationBuilder();
        foreach (var name in names)
        {
            var methodSection = section.GetSection(name);
            services.AddOptions<InboundAuthOptions>(name).Bind(methodSection).ValidateOnStart().KeepLastGoodOnReload();
            var type = methodSection["Type"];
            var scheme = InboundAuthTypes.SchemeOf(name);
            switch (type)
            {
                case InboundAuthTypes.ApiKey:
                    authentication.AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(scheme, null);
                    services.AddOptions<ApiKeyAuthenticationOptions>(scheme).Bind(methodSection).ValidateOnStart().KeepLastGoodOnReload();
                    break;
                case InboundAuthTypes.Basic:
                    authentication.AddBasic(scheme, o => ConfigureBasic(o, name, methodSection));
                    break;
                case InboundAuthTypes.Bearer:
                    authentication.AddJwtBearer(scheme, o => ConfigureBearer(o, methodSection));
                    break;
                default:
                    // None, or an unknown type that the validator reports at start-up.
                    scheme = string.Empty;
                    break;
            }

            authorization.AddPolicy(name, policy =>
            {
                if (scheme.Length == 0)
                {
                    policy.RequireAssertion(_ => true);
                }
                else
                {
                    policy.AddAuthenticationSchemes(scheme).RequireAuthenticatedUser();
                    if (methodSection["RequiredScope"] is { Length: > 0 } scope)
                    {
                        policy.RequireAssertion(c => HasScope(c.User, scope));
                    }
                }

                if (methodSection.GetSection("AllowedNetworks").GetChildren().Any())
                {
                    policy.AddRequirements(new AllowedNetworksRequirement(name));
                }
            });
        }

        services.TryAddSingleton(new ApiKeySchemes(names.Where(n => section.GetSection(n)["Type"] == InboundAuthTypes.ApiKey).Select(InboundAuthTypes.SchemeOf)));
        services.TryAddSingleton<ApiKeyShortcut>();
        // A call the shortcut accepted skips the authorization middleware, which is what EndpointMiddleware's
        // check for "authorization metadata but no authorization middleware" looks for; every other call
        // still runs it (UseInboundAuth), and the tests refuse each kind of wrong credential end to end.
        services.Configure<RouteOptions>(o => o.SuppressCheckForUnhandledSecurityMetadata = true);

        var trusted = TrustedProxies.From(builder.Configuration);
        services.TryAddSingleton(trusted);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ForwardedHeadersOptions>, TrustedProxiesValidator>());
        services.AddOptions<ForwardedHeadersOptions>().ValidateOnStart();
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Only the named proxies; the middleware is left out of the pipeline when there are none,
            // because with both lists empty it would believe every sender.
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var network in trusted.Networks)
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        return builder;
    }

    /// <summary>
    /// Forwarded headers from trusted proxies, then authentication and authorization — except for a call
    /// with an accepted key on a plain API-key route, which <see cref="ApiKeyShortcut"/> checks in one step.
    /// </summary>
    public static WebApplication UseInboundAuth(this WebApplication app)
    {
        if (app.Services.GetRequiredService<TrustedProxies>().Networks.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        // The shortcut jumps over the two framework middleware to what follows them. Not UseWhen: a branch
        // would hide UseAuthentication/UseAuthorization from WebApplication, which would then add both a
        // second time at the front of the pipeline (before forwarded headers). The pipeline is composed
        // from the last step back, so afterAuth is set before any request arrives.
        var shortcut = app.Services.GetRequiredService<ApiKeyShortcut>();
        RequestDelegate? afterAuth = null;
        app.Use(next => context => shortcut.TryAccept(context) ? afterAuth!(context) : next(context));
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(next => afterAuth = next);
        return app;
    }

    /// <summary>Why Basic credentials over plain HTTP are refused.</summary>
    internal const string InsecureBasicMessage = "Basic credentials are refused over plain HTTP: call over HTTPS (directly, or through a "
        + "trusted proxy that sends X-Forwarded-Proto), or set AllowInsecureProtocol on the method when TLS ends in front of the gateway.";

    /// <summary>True when a Basic method would refuse this request's credentials for its protocol alone.</summary>
    internal static bool RefusesInsecureBasic(HttpContext context, InboundAuthOptions method) =>
        method.Type == InboundAuthTypes.Basic && !method.AllowInsecureProtocol && !context.Request.IsHttps
        && context.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);

    private static void ConfigureBasic(BasicAuthenticationOptions options, string method, IConfigurationSection section)
    {
        options.Realm = "ocp-talkdesk-gateway";
        options.AllowInsecureProtocol = section.GetValue<bool>("AllowInsecureProtocol");
        options.Events = new BasicAuthenticationEvents
        {
            OnValidateCredentials = context =>
            {
                // The handler checks the protocol only when it challenges, so valid credentials over plain
                // HTTP were accepted; refused here unless TLS ends at a proxy the operator vouches for.
                if (!context.HttpContext.Request.IsHttps && !options.AllowInsecureProtocol)
                {
                    context.Fail(InsecureBasicMessage);
                    return Task.CompletedTask;
                }

                var users = context.HttpContext.RequestServices.GetRequiredService<IOptionsMonitor<InboundAuthOptions>>().Get(method).Users;
                // Every user is checked, match or not, so timing says nothing about which names exist.
                var valid = false;
                foreach (var (user, password) in users)
                {
                    var userMatches = ConfiguredSecret.MatchesAny(context.Username, [ConfiguredSecret.Of(user)]);
                    var passwordMatches = ConfiguredSecret.MatchesAny(context.Password, [ConfiguredSecret.Of(password)]);
                    valid |= userMatches & passwordMatches;
                }

                if (valid)
                {
                    context.Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, context.Username)], context.Scheme.Name));
                    context.Success();
                }
                else
                {
                    context.Fail("The user name or password is not accepted.");
                }

                return Task.CompletedTask;
            },
        };
    }

    private static void ConfigureBearer(JwtBearerOptions options, IConfigurationSection section)
    {
        var settings = section.Get<InboundAuthOptions>() ?? new InboundAuthOptions();
        options.MapInboundClaims = false;
        options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
        options.Authority = settings.Authority;
        options.Audience = settings.Audience;
        if (!string.IsNullOrWhiteSpace(settings.MetadataAddress))
        {
            options.MetadataAddress = settings.MetadataAddress;
        }

        options.TokenValidationParameters.ValidAudience = settings.Audience;
        options.TokenValidationParameters.ClockSkew = settings.ClockSkew;
        if (!string.IsNullOrWhiteSpace(settings.Issuer))
        {
            options.TokenValidationParameters.ValidIssuer = settings.Issuer;
        }
        else if (!string.IsNullOrWhiteSpace(settings.JwksUri))
        {
            // A bare JWKS has no issuer to compare with; the audience and signature still bind the token.
            options.TokenValidationParameters.ValidateIssuer = false;
        }

        if (!string.IsNullOrWhiteSpace(settings.JwksUri))
        {
            options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(settings.JwksUri, new JwksRetriever(),
                new HttpDocumentRetriever { RequireHttps = settings.RequireHttpsMetadata });
        }
    }

    private static bool HasScope(ClaimsPrincipal user, string required)
    {
        foreach (var claim in user.Claims)
        {
            if (claim.Type is "scope" or "scp")
            {
                foreach (var scope in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (string.Equals(scope, required, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
