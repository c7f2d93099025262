using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Wires the schema check into the services and into YARP's proxy pipeline.</summary>
public static class ValidationExtensions
{
    /// <summary>
    /// Binds <see cref="ValidationOptions"/> from the <c>Gateway</c> section and validates it (every
    /// schema loaded and checked) at start-up; registers the schema registry and the Talkdesk route transform.
    /// </summary>
    public static IHostApplicationBuilder AddEventValidation(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ValidationOptions>()
            .BindConfiguration(ValidationOptions.SectionName)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ValidationOptions>, ValidationOptionsValidator>());
        builder.Services.TryAddSingleton<SchemaRegistry>();
        // Resolved when the host starts, so schema files are watched from the first second.
        builder.Services.AddHostedService<SchemaWatchStart>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, TalkdeskRouteTransformProvider>());
        return builder;
    }

    /// <summary>
    /// Adds the schema step to the proxy pipeline. (A missing or broken schema file has already
    /// stopped start-up: the Gateway options validator loads every schema.)
    /// </summary>
    public static IReverseProxyApplicationBuilder UseEventValidation(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseMiddleware<EventValidationMiddleware>();
        return proxy;
    }
}
