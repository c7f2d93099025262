using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// On Talkdesk routes: every forwarded event carries its <c>Idempotency-Key</c> (both modes); with
/// store-and-forward, a retryable answer from OCP® (408, 425, 429, 5xx) is held back from Talkdesk (its
/// body suppressed, the attempt marked failed) so the delivery step can park the event and answer 202.
/// </summary>
internal sealed class DeliveryTransformProvider(IOptions<DeliveryOptions> options, TimeProvider time) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (context.Route is null || !TalkdeskRoutes.IsTalkdeskRoute(context.Route))
        {
            return;
        }

        context.AddRequestTransform(static transform =>
        {
            var http = transform.HttpContext;
            var key = http.Features.Get<ForwardAttempt>()?.IdempotencyKey
                ?? (http.Features.Get<ValidatedEvent>() is { } validated ? IdempotencyKey.Of(validated.Body.Span) : null);
            if (key is not null)
            {
                transform.ProxyRequest.Headers.Remove(IdempotencyKey.HeaderName);
                transform.ProxyRequest.Headers.TryAddWithoutValidation(IdempotencyKey.HeaderName, key);
            }

            return ValueTask.CompletedTask;
        });

        if (options.Value.Mode != DeliveryMode.StoreAndForward)
        {
            return;
        }

        context.AddResponseTransform(transform =>
        {
            if (transform.ProxyResponse is { } response && ForwardAttempt.IsRetryable((int)response.StatusCode)
                && transform.HttpContext.Features.Get<ForwardAttempt>() is { } attempt)
            {
                attempt.Fail($"OCP® answered {(int)response.StatusCode}", RetryAfterOf(response, time.GetUtcNow()), (int)response.StatusCode);
                transform.SuppressResponseBody = true;
            }

            return ValueTask.CompletedTask;
        });
    }

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response, DateTimeOffset now) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - now is { Ticks: > 0 } wait ? wait : TimeSpan.Zero,
        _ => null,
    };
}
