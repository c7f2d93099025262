using Microsoft.Extensions.Diagnostics.HealthChecks;
using OcpTalkdesk.Gateway.Tokens;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// Ready when every token client has a valid token cached, or can obtain one now. Otherwise the
/// registration's failure status: unhealthy, or only degraded where events are parked without a token.
/// </summary>
internal sealed class TokenClientsHealthCheck(TokenCache cache) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var unhealthy = 0;
        foreach (var client in cache.ClientNames)
        {
            if (cache.Peek(client) is not null)
            {
                data[client] = "token cached";
                continue;
            }

            try
            {
                await cache.GetAsync(client, cancellationToken);
                data[client] = "token obtained";
            }
            catch (TokenUnavailableException ex)
            {
                data[client] = "no token: " + ex.Error;
                unhealthy++;
            }
        }

        return unhealthy == 0
            ? HealthCheckResult.Healthy("Every token client has a valid token", data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"{unhealthy} token client(s) without a valid token", data: data);
    }
}
