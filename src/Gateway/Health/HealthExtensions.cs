using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>Liveness and readiness endpoints on ASP.NET Core health checks.</summary>
public static class HealthExtensions
{
    private const string ReadyTag = "ready";

    /// <summary>The token clients' readiness check (store-and-forward lowers its failure to Degraded).</summary>
    public const string TokensCheck = "tokens";

    /// <summary>Registers the readiness checks: configuration changes, schemas, token clients, upstream destinations.</summary>
    public static IHostApplicationBuilder AddGatewayHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<ConfigurationReloads>();
        builder.Services.AddHealthChecks()
            .AddCheck<ConfigurationHealthCheck>("configuration", tags: [ReadyTag])
            .AddCheck<SchemaCatalogHealthCheck>("schemas", tags: [ReadyTag])
            .AddCheck<TokenClientsHealthCheck>(TokensCheck, tags: [ReadyTag])
            .AddCheck<UpstreamDestinationsHealthCheck>("upstreams", tags: [ReadyTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (the process serves; no check runs) and <c>/readyz</c> (every readiness
    /// check), both JSON, on the management port when one is configured.
    /// </summary>
    public static WebApplication MapGatewayHealth(this WebApplication app)
    {
        var management = app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value;
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthJsonWriter.WriteAsync })
            .RequireManagementPort(management);
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = HealthJsonWriter.WriteAsync })
            .RequireManagementPort(management);
        return app;
    }
}
