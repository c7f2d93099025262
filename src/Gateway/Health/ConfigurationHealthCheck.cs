using Microsoft.Extensions.Diagnostics.HealthChecks;
using OcpTalkdesk.Gateway.Configuration;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// Healthy when the newest configuration is in force; degraded (still 200: the last good settings keep working) while
/// a change is refused, with the reason naming the key.
/// </summary>
internal sealed class ConfigurationHealthCheck(ConfigurationReloads reloads) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(reloads.Refused is { Count: > 0 } refused
            ? HealthCheckResult.Degraded("The last change was refused and the previous settings stay in force: " + string.Join(" ", refused))
            : HealthCheckResult.Healthy("The newest configuration is in force"));
}
