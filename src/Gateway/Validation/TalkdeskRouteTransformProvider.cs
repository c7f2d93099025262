using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Checks the <c>TalkdeskActions</c> route metadata when YARP loads or reloads its config, and on
/// Talkdesk routes sends each event type to its configured <c>UpstreamPath</c>, if any.
/// </summary>
internal sealed class TalkdeskRouteTransformProvider : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
        if (context.Route.Metadata?.TryGetValue(TalkdeskRoutes.MetadataKey, out var value) == true
            && !bool.TryParse(value, out _))
        {
            context.Errors.Add(new ArgumentException(
                $"ReverseProxy:Routes:{context.Route.RouteId}:Metadata:{TalkdeskRoutes.MetadataKey} must be 'true' or 'false'; it is '{value}'."));
        }
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
            if (transform.HttpContext.Features.Get<ValidatedEvent>() is { Schema.UpstreamPath: { HasValue: true } path })
            {
                transform.Path = path;
            }

            return ValueTask.CompletedTask;
        });
    }
}
