using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// The one-step check for the call every Talkdesk event makes (issue #12): an endpoint whose only
/// authorization is a plain API-key policy (one API-key scheme and "authenticated user": no scope, no
/// allow-list) called with an accepted key is let through here, with a principal built once per scheme,
/// and skips ASP.NET Core's authentication and authorization middleware. Measured (bench/ablation.sh,
/// SET=framework): those two middleware with a plain handler cost more CPU per event than all of the
/// gateway's own steps. The key check is the handler's own (<see cref="ConfiguredSecret.MatchesAny"/>:
/// constant-time comparison with every configured key, hashing only for keys configured as <c>sha256:</c>). Every other call — no key,
/// a wrong key, Basic, Bearer, scopes, allow-lists — goes through the framework unchanged, so every
/// refusal, <c>WWW-Authenticate</c> and metric stays as it was.
/// </summary>
internal sealed class ApiKeyShortcut(IOptions<AuthorizationOptions> authorization, IOptionsMonitor<ApiKeyAuthenticationOptions> apiKeys,
    ApiKeySchemes schemes)
{
    // Keyed by the endpoint object, so endpoints YARP replaces on a configuration reload are dropped with it.
    private readonly ConditionalWeakTable<Endpoint, EndpointScheme> _endpoints = [];
    private readonly ConcurrentDictionary<string, ClaimsPrincipal> _principals = new(StringComparer.Ordinal);

    /// <summary>True when the call presented an accepted key on a plain API-key endpoint; <see cref="HttpContext.User"/> is then set.</summary>
    public bool TryAccept(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint)
        {
            return false;
        }

        if (!_endpoints.TryGetValue(endpoint, out var resolved))
        {
            resolved = _endpoints.GetValue(endpoint, Resolve);
        }

        if (resolved.Scheme is not { } scheme)
        {
            return false;
        }

        var keys = apiKeys.Get(scheme);
        if (!context.Request.Headers.TryGetValue(keys.HeaderName, out var values) || values.Count != 1
            || values[0] is not { Length: > 0 } presented || !ConfiguredSecret.MatchesAny(presented, keys.Keys))
        {
            return false;
        }

        context.User = _principals.GetOrAdd(scheme, static name => new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], name)));
        return true;
    }

    /// <summary>The endpoint's API-key scheme when its authorization is exactly one plain API-key policy, else null.</summary>
    private EndpointScheme Resolve(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<IAllowAnonymous>() is not null || metadata.GetMetadata<AuthorizationPolicy>() is not null
            || metadata.GetMetadata<IAuthorizationRequirementData>() is not null)
        {
            return EndpointScheme.None;
        }

        var authorize = metadata.GetOrderedMetadata<IAuthorizeData>();
        if (authorize.Count != 1 || authorize[0] is not { Policy: { } name, Roles: null, AuthenticationSchemes: null }
            || authorization.Value.GetPolicy(name) is not { } policy)
        {
            return EndpointScheme.None;
        }

        return policy.AuthenticationSchemes.Count == 1 && policy.Requirements.Count == 1
            && policy.Requirements[0] is DenyAnonymousAuthorizationRequirement
            && schemes.Names.Contains(policy.AuthenticationSchemes[0])
                ? new EndpointScheme(policy.AuthenticationSchemes[0])
                : EndpointScheme.None;
    }

    private sealed class EndpointScheme(string? scheme)
    {
        public static readonly EndpointScheme None = new(null);

        public string? Scheme { get; } = scheme;
    }
}

/// <summary>The authentication schemes of the configured API-key methods.</summary>
internal sealed class ApiKeySchemes(IEnumerable<string> names)
{
    /// <summary>The scheme names.</summary>
    public FrozenSet<string> Names { get; } = names.ToFrozenSet(StringComparer.Ordinal);
}
