using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>Registers the gateway's own configuration section.</summary>
public static class ConfigurationExtensions
{
    /// <summary>The setting naming the folder of file-mounted secrets.</summary>
    public const string SecretsDirectoryKey = "SecretsDirectory";

    /// <summary>Where file-mounted secrets are read from unless <see cref="SecretsDirectoryKey"/> says otherwise.</summary>
    public const string DefaultSecretsDirectory = "/run/secrets";

    /// <summary>
    /// Binds <see cref="GatewayOptions"/> from the <c>Gateway</c> section and validates it at start-up,
    /// so a bad key stops the process with a message naming it.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayOptions(this IHostApplicationBuilder builder)
    {
        // Secrets mounted as files (Docker and Kubernetes secrets): a file named
        // Gateway__TokenClients__ocp__ClientSecret holds that key's value.
        var secrets = builder.Configuration[SecretsDirectoryKey] ?? DefaultSecretsDirectory;
        builder.Configuration.AddKeyPerFile(Path.GetFullPath(secrets), optional: true, reloadOnChange: true);

        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        builder.Services.AddOptions<ManagementOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .Validate(o => o.ManagementPort is null or (> 0 and <= 65535), "Gateway:ManagementPort must be a TCP port (1-65535).")
            .ValidateOnStart();
        return builder;
    }
}
