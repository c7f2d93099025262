using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// Answers a refused caller with 401 (and the scheme's <c>WWW-Authenticate</c>) or 403 as
/// problem+json and counts it by reason. It runs in the authorization middleware, before the
/// endpoint, so the body of a refused call is never read and OCP® never called.
/// </summary>
internal sealed class InboundAuthResultHandler(ProblemResponder problems, GatewayMetrics metrics,
    IOptionsMonitor<InboundAuthOptions> methods, ILogger<InboundAuthResultHandler> logger)
    : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        // Only Talkdesk's routes answer problem+json; the console's cookie challenge (a redirect to its sign-in) is the framework's.
        if (authorizeResult.Succeeded || !(authorizeResult.Challenged || authorizeResult.Forbidden)
            || context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is null)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var routeConfig = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config;
        var route = routeConfig?.RouteId ?? "none";
        // Challenged with no credentials at all is "missing"; with credentials, they were wrong.
        var method = routeConfig?.AuthorizationPolicy;
        // A method of Type None has no credential that could help: its only refusal is the caller's address.
        var forbidden = authorizeResult.Forbidden || (method is not null && methods.Get(method).Type == InboundAuthTypes.None);
        var reason = forbidden ? "forbidden"
            : method is not null && InboundAuthExtensions.RefusesInsecureBasic(context, methods.Get(method)) ? "insecure"
            : HasCredentials(context, method) ? "invalid" : "missing";
        InboundAuthLog.Refused(logger, route, reason);
        metrics.InboundRejected(route, reason);
        context.Features.Get<CallOutcome>()?.Decide(Outcome.Unauthorized);

        foreach (var scheme in policy.AuthenticationSchemes)
        {
            if (forbidden)
            {
                await context.ForbidAsync(scheme);
            }
            else
            {
                await context.ChallengeAsync(scheme);
            }
        }

        if (context.Response.HasStarted)
        {
            return;
        }

        if (forbidden)
        {
            await problems.WriteAsync(context, StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Forbidden",
                "The caller is authenticated but not allowed here (scope or source address).");
        }
        else
        {
            await problems.WriteAsync(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Unauthenticated",
                reason switch
                {
                    "missing" => "The call carries no credentials.",
                    "insecure" => InboundAuthExtensions.InsecureBasicMessage,
                    _ => "The call's credentials are not accepted.",
                });
        }
    }

    private bool HasCredentials(HttpContext context, string? method)
    {
        var header = method is not null && methods.Get(method) is { Type: InboundAuthTypes.ApiKey } apiKey
            ? apiKey.HeaderName
            : HeaderNames.Authorization;
        return context.Request.Headers.ContainsKey(header);
    }
}
