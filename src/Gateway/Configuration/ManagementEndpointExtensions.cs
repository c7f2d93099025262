namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Keeps operator endpoints on the management port.</summary>
public static class ManagementEndpointExtensions
{
    /// <summary>Restricts the endpoint to <see cref="ManagementOptions.ManagementPort"/> unless it is 0.</summary>
    public static TBuilder RequireManagementPort<TBuilder>(this TBuilder endpoint, ManagementOptions options)
        where TBuilder : IEndpointConventionBuilder =>
        options.ManagementPort > 0 ? endpoint.RequireHost($"*:{options.ManagementPort}") : endpoint;
}
