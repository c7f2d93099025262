using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Wires the schema check into the services and into YARP's proxy pipeline.</summary>
public static class ValidationExtensions
{
    /// <summary>Registers the schema registry and the Talkdesk route transform.</summary>
    public static IHostApplicationBuilder AddEventValidation(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<SchemaRegistry>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, TalkdeskRouteTransformProvider>());
        return builder;
    }

    /// <summary>
    /// Adds the schema step to the proxy pipeline and compiles the schemas now, so a missing or
    /// broken schema file stops start-up instead of failing the first event.
    /// </summary>
    public static IReverseProxyApplicationBuilder UseEventValidation(this IReverseProxyApplicationBuilder proxy)
    {
        _ = proxy.ApplicationServices.GetRequiredService<SchemaRegistry>();
        proxy.UseMiddleware<EventValidationMiddleware>();
        return proxy;
    }
}
