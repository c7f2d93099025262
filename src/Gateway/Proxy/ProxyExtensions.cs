using Microsoft.Extensions.DependencyInjection.Extensions;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Proxy;

/// <summary>The YARP reverse proxy, configured from the <c>ReverseProxy</c> section.</summary>
public static class ProxyExtensions
{
    /// <summary>The configuration section YARP's routes and clusters load from.</summary>
    public const string SectionName = "ReverseProxy";

    /// <summary>
    /// Adds YARP with routes and clusters from configuration; YARP reloads them on change and keeps
    /// the last good config (logging why) when a reload is invalid.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection(SectionName));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, DestinationAddressCheck>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, ForwardedRequestAllowList>());
        return builder;
    }

    /// <summary>Maps the proxy with the gateway's steps ahead of YARP's standard ones.</summary>
    public static WebApplication MapGatewayProxy(this WebApplication app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.UseEventValidation();
            proxy.UseDelivery();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
            proxy.UseUpstreamTiming();
        });
        return app;
    }
}
