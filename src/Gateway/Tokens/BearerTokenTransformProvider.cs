using Microsoft.Net.Http.Headers;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// On routes whose cluster names a token client (cluster metadata <c>TokenClient</c>), replaces the
/// inbound <c>Authorization</c> header with <c>Bearer &lt;token&gt;</c>, or answers 503 when no token can
/// be had. A transform that writes a response stops the forward, so OCP® is never called without one.
/// </summary>
internal sealed class BearerTokenTransformProvider(TokenCache cache, ProblemResponder problems,
    ILogger<BearerTokenTransformProvider> logger) : ITransformProvider
{
    /// <summary>The cluster metadata key naming the token client.</summary>
    public const string MetadataKey = "TokenClient";

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
        if (TokenClientOf(context.Cluster.Metadata) is { } client && !cache.ClientNames.Contains(client, StringComparer.Ordinal))
        {
            context.Errors.Add(new ArgumentException(
                $"ReverseProxy:Clusters:{context.Cluster.ClusterId}:Metadata:{MetadataKey} names '{client}', which is not configured under {TokenClientOptions.SectionName}."));
        }
    }

    public void Apply(TransformBuilderContext context)
    {
        if (TokenClientOf(context.Cluster?.Metadata) is not { } client)
        {
            return;
        }

        var routeId = context.Route.RouteId;
        context.AddRequestTransform(async transform =>
        {
            // Talkdesk's own credentials are for the edge, never for OCP®.
            transform.ProxyRequest.Headers.Remove(HeaderNames.Authorization);
            AccessToken token;
            try
            {
                token = await cache.GetAsync(client, transform.HttpContext.RequestAborted);
            }
            catch (TokenUnavailableException ex)
            {
                TokenLog.TokenUnavailable(logger, routeId, client, ex.Error, ProblemResponder.CorrelationId(transform.HttpContext));
                transform.HttpContext.Features.Get<CallOutcome>()?.Decide(Outcome.TokenUnavailable);
                if (transform.HttpContext.Features.Get<ForwardAttempt>() is { } attempt)
                {
                    // Store-and-forward decides (park, or retry later); a non-200 status stops the forward.
                    attempt.Fail($"no token (token client '{client}': {ex.Error})");
                    transform.HttpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                }

                await problems.WriteAsync(transform.HttpContext, StatusCodes.Status503ServiceUnavailable, ProblemTypes.CredentialsUnavailable,
                    "Upstream credentials unavailable", $"No access token for OCP® could be obtained (token client '{client}': {ex.Error}).");
                return;
            }

            transform.ProxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Authorization, token.HeaderValue);
            var body = transform.HttpContext.Features.Get<ValidatedEvent>()?.Body.Memory;
            transform.ProxyRequest.Options.Set(TokenForwarding.Key, new TokenForwarding(client, token, body));
        });
    }

    private static string? TokenClientOf(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue(MetadataKey, out var client) && !string.IsNullOrWhiteSpace(client) ? client : null;
}
