namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Keeps operator endpoints on the management port.</summary>
public static class ManagementEndpointExtensions
{
    /// <summary>
    /// Marks the endpoint as an operator endpoint: with a management port it answers only on
    /// connections that arrived there (<see cref="ManagementPortPolicy"/>); the options are no longer
    /// needed here but kept so every caller reads the same.
    /// </summary>
    public static TBuilder RequireManagementPort<TBuilder>(this TBuilder endpoint, ManagementOptions options)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(options);
        return endpoint.WithMetadata(ManagementEndpointMetadata.Instance);
    }
}
