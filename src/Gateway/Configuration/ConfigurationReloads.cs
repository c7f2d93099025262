using System.Collections.Concurrent;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// Which configuration changes were refused and are not in force (the last good settings are), for the log, the
/// metric and <c>/readyz</c>. The schemas report their own changes (<see cref="Validation.SchemaRegistry"/>).
/// </summary>
internal sealed class ConfigurationReloads(ILogger<ConfigurationReloads> logger, GatewayMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<string, string> _refused = new(StringComparer.Ordinal);

    /// <summary>Why changes were refused, one line per group of settings; empty when the newest configuration is in force.</summary>
    public IReadOnlyCollection<string> Refused => _refused.Values.ToArray();

    /// <summary>A group of settings was rebuilt from the newest configuration.</summary>
    public void Accepted(string settings)
    {
        if (!_refused.IsEmpty)
        {
            _refused.TryRemove(settings, out _);
        }
    }

    /// <summary>A change made a group of settings invalid; the last good ones stay in force.</summary>
    public void Rejected(string settings, string reason)
    {
        // One change raises several change notifications (each source, each provider): told once per refusal.
        // One rule may refuse two groups with the same words (a method's keys and its API-key handler's): told once.
        var told = _refused.Values.Contains(reason);
        _refused[settings] = reason;
        if (told)
        {
            return;
        }

        ConfigurationLog.ReloadRejected(logger, reason);
        metrics?.ConfigReloadRejected();
    }
}
