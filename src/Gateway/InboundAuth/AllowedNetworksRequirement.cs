using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>The caller's address (after trusted X-Forwarded-For) must be in the method's <c>AllowedNetworks</c>.</summary>
internal sealed class AllowedNetworksRequirement(string method) : IAuthorizationRequirement
{
    public string Method { get; } = method;
}

/// <summary>Checks <see cref="AllowedNetworksRequirement"/>; an address outside every range gets 403.</summary>
internal sealed class AllowedNetworksHandler(IOptionsMonitor<InboundAuthOptions> options) : AuthorizationHandler<AllowedNetworksRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AllowedNetworksRequirement requirement)
    {
        var networks = options.Get(requirement.Method).AllowedNetworks;
        var address = (context.Resource as HttpContext)?.Connection.RemoteIpAddress;
        if (networks.Count == 0)
        {
            context.Succeed(requirement);
        }
        else if (address is not null)
        {
            if (address.IsIPv4MappedToIPv6)
            {
                address = address.MapToIPv4();
            }

            foreach (var network in networks)
            {
                if (IPNetwork.TryParse(network, out var range) && range.Contains(address))
                {
                    context.Succeed(requirement);
                    break;
                }
            }
        }

        return Task.CompletedTask;
    }
}
