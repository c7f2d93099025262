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

    /// <summary>
    /// Maps the proxy with the gateway's steps ahead of YARP's standard ones. YARP's session affinity, load balancing
    /// and passive health checks run only for a cluster that uses them (affinity or passive checks configured, or more
    /// than one destination to choose from): for the usual single OCP® destination each would be a frame that looks
    /// and passes on (docs/decisions/0010). Decided per request, so a config reload that adds them takes effect.
    /// </summary>
    public static WebApplication MapGatewayProxy(this WebApplication app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.UseEventValidation();
            proxy.UseDelivery();
            proxy.UseWhen(UsesDestinationSteps, branch =>
            {
                var steps = new ProxyBranch(branch);
                steps.UseSessionAffinity();
                steps.UseLoadBalancing();
                steps.UsePassiveHealthChecks();
            });
            proxy.UseUpstreamTiming();
        });
        return app;
    }

    /// <summary>Whether the call's cluster needs YARP's destination steps.</summary>
    internal static bool UsesDestinationSteps(HttpContext context)
    {
        var feature = context.GetReverseProxyFeature();
        var config = feature.Cluster.Config;
        return feature.AvailableDestinations.Count > 1 || config.SessionAffinity?.Enabled == true || config.HealthCheck?.Passive?.Enabled == true;
    }

    /// <summary>
    /// A <c>UseWhen</c> branch as YARP's builder type, which its step extensions take; the steps themselves are YARP's.
    /// </summary>
    private sealed class ProxyBranch(IApplicationBuilder inner) : IReverseProxyApplicationBuilder
    {
        public IServiceProvider ApplicationServices { get => inner.ApplicationServices; set => inner.ApplicationServices = value; }

        public Microsoft.AspNetCore.Http.Features.IFeatureCollection ServerFeatures => inner.ServerFeatures;

        public IDictionary<string, object?> Properties => inner.Properties;

        public RequestDelegate Build() => inner.Build();

        public IApplicationBuilder New() => inner.New();

        public IApplicationBuilder Use(Func<RequestDelegate, RequestDelegate> middleware)
        {
            inner.Use(middleware);
            return this;
        }
    }
}
