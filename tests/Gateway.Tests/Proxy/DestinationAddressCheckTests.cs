using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Proxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace OcpTalkdesk.Gateway.Tests.Proxy;

public sealed class DestinationAddressCheckTests
{
    private static List<Exception> Check(string? address)
    {
        var cluster = new ClusterConfig
        {
            ClusterId = "ocp",
            Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = address! } },
        };
        var context = new TransformClusterValidationContext { Cluster = cluster, Services = new ServiceCollection().BuildServiceProvider() };
        new DestinationAddressCheck().ValidateCluster(context);
        return [.. context.Errors];
    }

    [Theory]
    [InlineData("https://ocp.example.com/talkdesk/webhook")]
    [InlineData("http://127.0.0.1:8080/sandbox/ocp/events")]
    public void An_absolute_http_url_is_accepted(string address) => Assert.Empty(Check(address));

    [Theory]
    [InlineData("")]
    [InlineData("ocp.example.com/webhook")]
    [InlineData("not a url")]
    [InlineData("ftp://ocp.example.com/")]
    [InlineData("/relative/path")]
    public void Anything_else_is_refused_naming_the_key(string address)
    {
        var error = Assert.Single(Check(address));

        Assert.StartsWith("ReverseProxy:Clusters:ocp:Destinations:primary:Address", error.Message, StringComparison.Ordinal);
    }
}
