using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Registers the gateway's own configuration section.</summary>
public static class ConfigurationExtensions
{
    /// <summary>
    /// Binds <see cref="GatewayOptions"/> from the <c>Gateway</c> section and validates it at start-up,
    /// so a bad key stops the process with a message naming it.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        return builder;
    }
}
