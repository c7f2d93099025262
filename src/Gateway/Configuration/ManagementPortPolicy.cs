using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// Routing's own extension point deciding, per request, which endpoints a connection may reach: operator
/// endpoints only on connections that arrived on <see cref="ManagementOptions.ManagementPort"/>, every
/// other endpoint (the event routes, the sandbox) only on the other ports. The decision is the
/// connection's local port, which the caller cannot write; <c>RequireHost</c> matched the Host header,
/// which the caller writes, so <c>Host: x:9090</c> reached <c>/metrics</c> on the event port.
/// </summary>
internal sealed class ManagementPortPolicy(IOptions<ManagementOptions> options) : MatcherPolicy, IEndpointSelectorPolicy
{
    private readonly int _port = options.Value.ManagementPort;

    // After the framework's own policies (host -100, HTTP method), before nothing else that matters.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => _port > 0;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var onManagementPort = httpContext.Connection.LocalPort == _port;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i)
                && candidates[i].Endpoint.Metadata.GetMetadata<ManagementEndpointMetadata>() is not null != onManagementPort)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
