using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Tests.Problems;

/// <summary>Services with problem details registered exactly as the gateway registers them, for unit tests of its steps.</summary>
internal static class ProblemServices
{
    public static ServiceProvider Create()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.AddGatewayProblems();
        return builder.Services.BuildServiceProvider();
    }
}
