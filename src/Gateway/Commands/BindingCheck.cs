using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.InboundAuth;
using OcpTalkdesk.Gateway.Sandbox;
using OcpTalkdesk.Gateway.Timeouts;
using OcpTalkdesk.Gateway.Tokens;
using OcpTalkdesk.Gateway.Tracing;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// Binds every options class from its section before the host is built, so a value that is not of
/// its key's type (<c>Gateway__ExecutionTimeout=abc</c>) is reported naming the key, all such keys at
/// once. The binder stops at its first bad value and its innermost words ("abc is not a valid value
/// for TimeSpan") name no key, and an options class read while the host is built would stop the build
/// before check-config could list anything else.
/// </summary>
internal static partial class BindingCheck
{
    [GeneratedRegex(@"^Failed to convert configuration value (?:'.*' )?at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex BinderFailure();

    /// <summary>
    /// One line per key whose value cannot be bound. Each bad key is then hidden behind an in-memory
    /// null, so the rest of the configuration (and check-config's later checks) see its default.
    /// </summary>
    public static IReadOnlyList<string> FindAndHideProblems(IConfigurationManager configuration)
    {
        var problems = new List<string>();
        var hidden = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (section, type) in Targets(configuration))
        {
            // Each failure names one key; hide it and bind again, until the class binds (bounded by its keys).
            for (var attempt = 0; attempt < 64; attempt++)
            {
                try
                {
                    if (type is null)
                    {
                        new KestrelLimitsSetup(Layered(configuration, hidden)).Configure(new KestrelServerOptions());
                    }
                    else
                    {
                        Layered(configuration, hidden).GetSection(section).Get(type);
                    }

                    break;
                }
                catch (InvalidOperationException ex) when (Describe(ex) is { } problem)
                {
                    problems.Add(problem.Line);
                    hidden[problem.Key] = DefaultText(section, type, problem.Key);
                }
            }
        }

        if (hidden.Count > 0)
        {
            configuration.AddInMemoryCollection(hidden);
        }

        return problems;
    }

    /// <summary>
    /// The text of the key's default (read off a new options object), so what follows sees the default
    /// rather than a null that the binder would turn into zero; null when there is no such property.
    /// </summary>
    private static string? DefaultText(string section, Type? type, string key)
    {
        if (key.Length <= section.Length + 1 || !key.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        object? current = type is null ? new KestrelServerOptions().Limits : Activator.CreateInstance(type);
        foreach (var name in key[(section.Length + 1)..].Split(':'))
        {
            var property = current?.GetType().GetProperty(name, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null)
            {
                return null;
            }

            current = property.GetValue(current);
        }

        return Convert.ToString(current, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The key and a line naming it, for a binder's conversion failure or the gateway's own range checks.</summary>
    internal static (string Key, string Line)? Describe(InvalidOperationException ex)
    {
        var match = BinderFailure().Match(ex.Message);
        if (match.Success)
        {
            var key = match.Groups["key"].Value;
            return (key, $"{key} is not {Expected(match.Groups["type"].Value)}.");
        }

        // KestrelLimitsSetup's own messages start with the key.
        var space = ex.Message.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && ex.Message.StartsWith(KestrelLimitsSetup.SectionName, StringComparison.Ordinal)
            ? (ex.Message[..space], ex.Message)
            : null;
    }

    private static string Expected(string type)
    {
        var underlying = type.StartsWith("System.Nullable`1[[", StringComparison.Ordinal) ? type[19..type.IndexOf(',', StringComparison.Ordinal)] : type;
        return underlying switch
        {
            "System.TimeSpan" => "a duration (hh:mm:ss, such as 00:00:10)",
            "System.Int32" or "System.Int64" => "a whole number",
            "System.Double" => "a number",
            "System.Boolean" => "true or false",
            "System.Uri" => "an absolute URL",
            _ when Type.GetType(underlying) is { IsEnum: true } e => "one of " + string.Join(", ", Enum.GetNames(e)),
            _ when typeof(BindingCheck).Assembly.GetType(underlying) is { IsEnum: true } e => "one of " + string.Join(", ", Enum.GetNames(e)),
            _ => "a valid " + underlying[(underlying.LastIndexOf('.') + 1)..],
        };
    }

    private static IConfiguration Layered(IConfiguration configuration, Dictionary<string, string?> hidden) =>
        hidden.Count == 0 ? configuration : new ConfigurationBuilder().AddConfiguration(configuration, shouldDisposeConfiguration: false)
            .AddInMemoryCollection(hidden).Build();

    /// <summary>Each options class of the gateway and the section it binds from; a null type is Kestrel's limits.</summary>
    private static IEnumerable<(string Section, Type? Type)> Targets(IConfiguration configuration)
    {
        yield return ("Gateway", typeof(ExecutionTimeoutOptions));
        yield return (ManagementOptions.SectionName, typeof(ManagementOptions));
        yield return (ValidationOptions.SectionName, typeof(ValidationOptions));
        yield return (DeliveryOptions.SectionName, typeof(DeliveryOptions));
        yield return (TracingOptions.SectionName, typeof(TracingOptions));
        yield return (SandboxOptions.SectionName, typeof(SandboxOptions));
        foreach (var method in configuration.GetSection(InboundAuthOptions.SectionName).GetChildren())
        {
            yield return (method.Path, typeof(InboundAuthOptions));
        }

        foreach (var client in configuration.GetSection(TokenClientOptions.SectionName).GetChildren())
        {
            yield return (client.Path, typeof(TokenClientOptions));
        }

        yield return (KestrelLimitsSetup.SectionName, null);
    }
}
