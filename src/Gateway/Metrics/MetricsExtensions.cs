using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using Prometheus;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>Prometheus metrics (prometheus-net) for the gateway's calls, tokens and runtime.</summary>
public static class MetricsExtensions
{
    /// <summary>Registers the gateway's metrics and the runtime collectors.</summary>
    public static IHostApplicationBuilder AddGatewayMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<GatewayMetrics>();
        builder.Services.AddHostedService<RuntimeMetricsCollector>();
        return builder;
    }

    /// <summary>Maps <c>/metrics</c>, on the management port when one is configured.</summary>
    public static WebApplication MapGatewayMetrics(this WebApplication app)
    {
        var registry = app.Services.GetRequiredService<GatewayMetrics>().Registry;
        var management = app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value;
        app.MapMetrics("/metrics", registry).RequireManagementPort(management);
        return app;
    }

    /// <summary>Times the forward itself; the last step of the proxy pipeline.</summary>
    public static IReverseProxyApplicationBuilder UseUpstreamTiming(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseMiddleware<UpstreamTimingMiddleware>();
        return proxy;
    }
}
