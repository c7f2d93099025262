using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// Applies <c>Kestrel:Limits</c> (appsettings, environment, command line) to the server. The host's
/// own Kestrel configuration reads only endpoints and certificates from that section, so without this
/// the shipped limits were silently Kestrel's defaults. The two data rates are immutable objects the
/// binder cannot fill, and every value is set one key at a time so a bad one is refused naming its key.
/// </summary>
internal sealed class KestrelLimitsSetup(IConfiguration configuration) : IConfigureOptions<KestrelServerOptions>
{
    /// <summary>The section the limits are read from.</summary>
    public const string SectionName = "Kestrel:Limits";

    public void Configure(KestrelServerOptions options)
    {
        var section = configuration.GetSection(SectionName);
        var limits = options.Limits;
        Set<long?>(section, nameof(limits.MaxConcurrentConnections), v => limits.MaxConcurrentConnections = v);
        Set<long?>(section, nameof(limits.MaxConcurrentUpgradedConnections), v => limits.MaxConcurrentUpgradedConnections = v);
        Set<int>(section, nameof(limits.MaxRequestHeaderCount), v => limits.MaxRequestHeaderCount = v);
        Set<int>(section, nameof(limits.MaxRequestHeadersTotalSize), v => limits.MaxRequestHeadersTotalSize = v);
        Set<int>(section, nameof(limits.MaxRequestLineSize), v => limits.MaxRequestLineSize = v);
        Set<long?>(section, nameof(limits.MaxRequestBodySize), v => limits.MaxRequestBodySize = v);
        Set<long?>(section, nameof(limits.MaxRequestBufferSize), v => limits.MaxRequestBufferSize = v);
        Set<long?>(section, nameof(limits.MaxResponseBufferSize), v => limits.MaxResponseBufferSize = v);
        Set<TimeSpan>(section, nameof(limits.RequestHeadersTimeout), v => limits.RequestHeadersTimeout = v);
        Set<TimeSpan>(section, nameof(limits.KeepAliveTimeout), v => limits.KeepAliveTimeout = v);
        limits.MinRequestBodyDataRate = DataRate(section.GetSection(nameof(limits.MinRequestBodyDataRate)), limits.MinRequestBodyDataRate);
        limits.MinResponseDataRate = DataRate(section.GetSection(nameof(limits.MinResponseDataRate)), limits.MinResponseDataRate);
        section.GetSection(nameof(limits.Http2)).Bind(limits.Http2);
        section.GetSection(nameof(limits.Http3)).Bind(limits.Http3);
    }

    private static void Set<T>(IConfigurationSection section, string name, Action<T> apply)
    {
        var child = section.GetSection(name);
        if (child.Value is null)
        {
            return;
        }

        // The binder's own conversion names the key when the text is not a T ("abc" for a number).
        var value = child.Get<T>()!;
        try
        {
            apply(value);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new InvalidOperationException($"{child.Path} = '{child.Value}' is out of range for Kestrel (see README.md, Limits).");
        }
    }

    /// <summary>A minimum data rate from <c>BytesPerSecond</c> and <c>GracePeriod</c>; an empty section value (<c>""</c>) turns it off.</summary>
    private static MinDataRate? DataRate(IConfigurationSection section, MinDataRate? current)
    {
        if (!section.GetChildren().Any())
        {
            return section.Value is { Length: 0 } ? null : current;
        }

        var bytesPerSecond = section.GetSection(nameof(MinDataRate.BytesPerSecond)) is { Value: not null } rate ? rate.Get<double>() : current?.BytesPerSecond ?? 240;
        var grace = section.GetSection(nameof(MinDataRate.GracePeriod)) is { Value: not null } period ? period.Get<TimeSpan>() : current?.GracePeriod ?? TimeSpan.FromSeconds(5);
        if (bytesPerSecond <= 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{section.Path}:BytesPerSecond must be above 0 (given {bytesPerSecond}); set {section.Path} to \"\" to turn the minimum off."));
        }

        if (grace <= TimeSpan.FromSeconds(1))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{section.Path}:GracePeriod must be more than one second (given {grace})."));
        }

        return new MinDataRate(bytesPerSecond, grace);
    }
}
