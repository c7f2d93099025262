using Microsoft.Extensions.Diagnostics.HealthChecks;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>Ready when the configuration is loaded and the schemas are compiled.</summary>
internal sealed class SchemaCatalogHealthCheck(SchemaRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var count = registry.Current.AcceptedEventTypes.Count;
        return Task.FromResult(count > 0
            ? HealthCheckResult.Healthy($"{count} event types with compiled schemas")
            : HealthCheckResult.Unhealthy("No event type is configured"));
    }
}
