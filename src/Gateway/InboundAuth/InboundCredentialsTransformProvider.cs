using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// Secure by default: outside Development a Talkdesk route must name an inbound method as its
/// <c>AuthorizationPolicy</c> (YARP refuses the config, at start-up or on reload, otherwise). On such
/// routes the caller's credentials (the <c>Authorization</c> header and the API-key header) are
/// removed from the forwarded request: they are for the edge, never for OCP®.
/// </summary>
internal sealed class InboundCredentialsTransformProvider(IHostEnvironment environment, InboundAuthMethods methods,
    IOptionsMonitor<InboundAuthOptions> options) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
        var route = context.Route;
        var policy = route.AuthorizationPolicy;
        if (!TalkdeskRoutes.IsTalkdeskRoute(route) || environment.IsDevelopment() || (policy is not null && methods.Contains(policy)))
        {
            return;
        }

        context.Errors.Add(new InvalidOperationException(
            $"ReverseProxy:Routes:{route.RouteId}:AuthorizationPolicy {(policy is null ? "is not set" : $"is '{policy}', not an inbound method")}: outside Development every Talkdesk route needs inbound "
            + $"authentication. Define a method under {InboundAuthOptions.SectionName}:<name> (Type ApiKey, Basic or Bearer) and name it here, "
            + "or define one of Type None to accept calls from anyone."));
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (context.Route.AuthorizationPolicy is not { } method || !methods.Contains(method))
        {
            return;
        }

        var apiKeyHeader = options.Get(method) is { Type: InboundAuthTypes.ApiKey } apiKey ? apiKey.HeaderName : null;
        context.AddRequestTransform(transform =>
        {
            transform.ProxyRequest.Headers.Remove(HeaderNames.Authorization);
            if (apiKeyHeader is not null)
            {
                transform.ProxyRequest.Headers.Remove(apiKeyHeader);
            }

            return ValueTask.CompletedTask;
        });
    }
}
