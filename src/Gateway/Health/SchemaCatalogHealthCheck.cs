using Microsoft.Extensions.Diagnostics.HealthChecks;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// Ready when the schemas are loaded; degraded (still 200: the last good schemas keep working) when
/// the newest change to the configuration or a schema file was refused, with the reason.
/// </summary>
internal sealed class SchemaCatalogHealthCheck(SchemaRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var count = registry.Current.AcceptedEventTypes.Count;
        if (count == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("No event type is configured"));
        }

        return Task.FromResult(registry.LastRejection is { } rejection
            ? HealthCheckResult.Degraded($"{count} event types with checked schemas; the last change was refused and the previous schemas stay in force: {rejection}")
            : HealthCheckResult.Healthy($"{count} event types with checked schemas"));
    }
}
