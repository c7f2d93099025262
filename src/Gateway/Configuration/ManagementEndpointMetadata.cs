namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Endpoint metadata naming an operator endpoint (health, metrics, admin API).</summary>
internal sealed class ManagementEndpointMetadata
{
    public static readonly ManagementEndpointMetadata Instance = new();

    private ManagementEndpointMetadata()
    {
    }
}
