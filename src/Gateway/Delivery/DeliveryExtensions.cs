using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Health;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>How events reach OCP®: the <c>Idempotency-Key</c>, and store-and-forward when enabled.</summary>
public static class DeliveryExtensions
{
    /// <summary>
    /// Binds and validates <c>Gateway:Delivery</c>; adds the <c>Idempotency-Key</c> transform; with
    /// <c>StoreAndForward</c>, the store (opened at start-up), the key writer, the redelivery worker and
    /// the store's readiness check.
    /// </summary>
    public static IHostApplicationBuilder AddDelivery(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName).ValidateOnStart().KeepLastGoodOnReload();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeliveryOptions>, DeliveryOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, DeliveryTransformProvider>());
        services.TryAddSingleton(TimeProvider.System);
        if (!IsStoreAndForward(builder.Configuration))
        {
            return builder;
        }

        services.TryAddSingleton(sp => BodyProtector.From(sp.GetRequiredService<IOptions<DeliveryOptions>>().Value));
        services.TryAddSingleton(DeliveryStoreFactory.Create);
        services.TryAddSingleton<StoreHealth>();
        services.TryAddSingleton<GroupCommit>();
        services.TryAddSingleton(sp => new QueueCounts(sp.GetRequiredService<IDeliveryStore>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<OcpBreakers>();
        services.TryAddSingleton<RedeliveryPacing>();
        services.AddHostedService<DeliveryStoreStartup>();
        services.TryAddSingleton<AcceptedKeyWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AcceptedKeyWriter>());
        services.TryAddSingleton<RedeliveryWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RedeliveryWorker>());
        services.TryAddSingleton(sp => new DeliveryOperations(sp.GetRequiredService<IDeliveryStore>(), sp.GetRequiredService<RedeliveryWorker>(),
            sp.GetRequiredService<OcpBreakers>(), sp.GetRequiredService<StoreHealth>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHealthChecks().AddCheck<DeliveryStoreHealthCheck>("delivery-store", tags: ["ready"]);
        services.AddOpenApi(AdminApiDocument.Name, AdminApiDocument.Configure);
        // Without a token events are parked (202), not refused: like an OCP® outage, that degrades
        // readiness instead of taking the replica out of the load balancer.
        services.PostConfigure<HealthCheckServiceOptions>(health =>
        {
            foreach (var registration in health.Registrations.Where(r => r.Name == HealthExtensions.TokensCheck))
            {
                registration.FailureStatus = HealthStatus.Degraded;
            }
        });
        return builder;
    }

    /// <summary>With store-and-forward, adds its step after the schema step (it needs the validated body).</summary>
    public static IReverseProxyApplicationBuilder UseDelivery(this IReverseProxyApplicationBuilder proxy)
    {
        if (IsStoreAndForward(proxy.ApplicationServices.GetRequiredService<IConfiguration>()))
        {
            proxy.UseMiddleware<StoreAndForwardMiddleware>();
        }

        return proxy;
    }

    /// <summary>The mode is read at start-up: switching it needs a restart (the store opens at start).</summary>
    internal static bool IsStoreAndForward(IConfiguration configuration) =>
        Enum.TryParse<DeliveryMode>(configuration[DeliveryOptions.SectionName + ":Mode"], ignoreCase: true, out var mode) && mode == DeliveryMode.StoreAndForward;
}
