using System.Net;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// <c>Gateway:TrustedProxies</c>: the proxies (addresses or CIDR networks) whose <c>X-Forwarded-For</c>
/// and <c>X-Forwarded-Proto</c> are believed. Empty (the default) means none: the forwarded-headers
/// step is then not in the pipeline at all, because ASP.NET Core's middleware believes every sender
/// when both of its known lists are empty.
/// </summary>
internal sealed class TrustedProxies
{
    private TrustedProxies(IReadOnlyList<IPNetwork> networks, IReadOnlyList<string> problems)
    {
        Networks = networks;
        Problems = problems;
    }

    /// <summary>The networks whose forwarding headers are believed.</summary>
    public IReadOnlyList<IPNetwork> Networks { get; }

    /// <summary>One line per entry that is not an address or a network, naming its key.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Reads the list once at start-up (the pipeline is built from it).</summary>
    public static TrustedProxies From(IConfiguration configuration)
    {
        var networks = new List<IPNetwork>();
        var problems = new List<string>();
        var section = configuration.GetSection(InboundAuthExtensions.TrustedProxiesKey);
        var children = section.GetChildren().ToList();
        if (children.Count == 0 && section.Value is { Length: > 0 } single)
        {
            problems.Add($"{section.Path} must be a list (set {section.Path}:0 = '{single}').");
        }

        foreach (var entry in children)
        {
            var text = entry.Value?.Trim() ?? string.Empty;
            if (text.Length == 0)
            {
                continue;
            }

            if (IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                problems.Add($"{entry.Path} = '{text}' is not an IP address or a CIDR network (such as 10.0.0.0/8).");
            }
        }

        return new TrustedProxies(networks, problems);
    }

    /// <summary>For check-config: which senders' forwarding headers are believed.</summary>
    public string Describe() => Networks.Count == 0
        ? "none (X-Forwarded-For/-Proto ignored: the connection's own address and scheme decide)"
        : string.Join(", ", Networks.Select(n => n.ToString())) + " (their X-Forwarded-For/-Proto are believed)";
}
