using System.Diagnostics;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>
/// The gateway as a real process (<c>dotnet OcpTalkdesk.Gateway.dll …</c> from the test output, where
/// the build copies it with its appsettings and schemas), for what only a process shows: exit codes,
/// standard output and error.
/// </summary>
internal static class GatewayProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null, string? stdin = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OcpTalkdesk.Gateway.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // A clean, production-like environment: nothing inherited decides the outcome.
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["SecretsDirectory"] = Path.Combine(Path.GetTempPath(), "no-secrets-here");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the gateway process did not exit: " + string.Join(' ', args));
        }

        return new Result(process.ExitCode, await output, await error);
    }

    /// <summary>Settings that make the shipped configuration complete (a gateway that would start).</summary>
    public static Dictionary<string, string> Complete() => new()
    {
        ["ReverseProxy__Clusters__ocp__Destinations__primary__Address"] = "https://ocp.example.com/talkdesk/webhook",
        ["Gateway__TokenClients__ocp__TokenEndpoint"] = "https://idp.example.com/oauth/token",
        ["Gateway__TokenClients__ocp__ClientId"] = "gateway",
        ["Gateway__TokenClients__ocp__ClientSecret"] = "a-secret-for-the-test-only",
        ["Gateway__InboundAuth__talkdesk__ApiKeys__0"] = "an-inbound-key-of-the-test-0001",
        // Store-and-forward outside Development needs a key for the bodies it keeps (Direct ignores it).
        ["Gateway__Delivery__EncryptionKeys__" + Integration.GatewayHost.EncryptionKeyId] = Integration.GatewayHost.EncryptionKey,
        ["Gateway__Delivery__ActiveEncryptionKey"] = Integration.GatewayHost.EncryptionKeyId,
    };
}
