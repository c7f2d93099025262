using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Refuses start-up while an entry of <c>Gateway:TrustedProxies</c> is not an address or network.</summary>
internal sealed class TrustedProxiesValidator(TrustedProxies trusted) : IValidateOptions<ForwardedHeadersOptions>
{
    public ValidateOptionsResult Validate(string? name, ForwardedHeadersOptions options) =>
        trusted.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(trusted.Problems);
}
