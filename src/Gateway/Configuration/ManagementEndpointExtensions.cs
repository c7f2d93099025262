namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Keeps operator endpoints on the management port.</summary>
public static class ManagementEndpointExtensions
{
    /// <summary>Restricts the endpoint to <see cref="ManagementOptions.ManagementPort"/> when one is set.</summary>
    public static TBuilder RequireManagementPort<TBuilder>(this TBuilder endpoint, ManagementOptions options)
        where TBuilder : IEndpointConventionBuilder =>
        options.ManagementPort is int port ? endpoint.RequireHost($"*:{port}") : endpoint;
}
