using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Proxy;

/// <summary>
/// Refuses (at start-up, on reload and in <c>check-config</c>) a destination whose address is not an
/// absolute http(s) URL. YARP itself accepts any string and fails every request to it with 502, so
/// a typo would otherwise start a gateway that reports ready and forwards nothing.
/// </summary>
internal sealed class DestinationAddressCheck : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
        var cluster = context.Cluster;
        if (cluster.Destinations is null || cluster.Destinations.Count == 0)
        {
            context.Errors.Add(new ArgumentException($"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations must name at least one destination with an Address."));
            return;
        }

        foreach (var (name, destination) in cluster.Destinations)
        {
            var key = $"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations:{name}:Address";
            if (string.IsNullOrWhiteSpace(destination.Address))
            {
                context.Errors.Add(new ArgumentException($"{key} is required: the OCP® endpoint events are forwarded to, e.g. https://ocp.example.com/talkdesk/webhook."));
            }
            else if (!Uri.TryCreate(destination.Address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            {
                context.Errors.Add(new ArgumentException($"{key} must be an absolute http(s) URL; it is '{destination.Address}'."));
            }
        }
    }

    public void Apply(TransformBuilderContext context)
    {
    }
}
