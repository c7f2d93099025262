using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>
/// The README's curl examples, run as written against the sandbox (only the ports are changed to the test's),
/// so the documented answers cannot drift from what the gateway writes.
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    [GeneratedRegex(@"```bash\n(?<script>(?:(?!```).)*)```\n+```(?<lang>json)?\n(?<answer>(?:(?!```).)*)```", RegexOptions.Singleline)]
    private static partial Regex ExampleWithAnswer();

    internal static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "README.md")) && Directory.Exists(Path.Combine(folder.FullName, "config", "samples")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("README.md not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task The_curl_examples_answer_what_the_readme_shows()
    {
        var root = RepositoryRoot();
        var readme = (await File.ReadAllTextAsync(Path.Combine(root, "README.md"))).ReplaceLineEndings("\n");
        var examples = ExampleWithAnswer().Matches(readme).Where(m => m.Groups["script"].Value.Contains("curl ", StringComparison.Ordinal)).ToList();
        await using var gateway = await RunningGateway.StartAsync(new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });

        Assert.True(examples.Count >= 2, "the README's curl examples were not found");
        foreach (var example in examples)
        {
            var script = example.Groups["script"].Value.Replace("127.0.0.1:8080", "127.0.0.1:" + gateway.EventPort, StringComparison.Ordinal)
                .Replace("127.0.0.1:9090", "127.0.0.1:" + gateway.ManagementPort, StringComparison.Ordinal);
            var shown = example.Groups["answer"].Value;
            var actual = await BashAsync(script, root);
            if (example.Groups["lang"].Success)
            {
                // A problem answer: the same type, status and errors (pointer, keyword, message, in order).
                using var expected = JsonDocument.Parse(shown);
                using var got = JsonDocument.Parse(actual);
                foreach (var member in new[] { "type", "title", "status", "detail" })
                {
                    Assert.Equal(expected.RootElement.GetProperty(member).ToString(), got.RootElement.GetProperty(member).ToString());
                }

                Assert.Equal(JsonSerializer.Serialize(expected.RootElement.GetProperty("errors")), JsonSerializer.Serialize(got.RootElement.GetProperty("errors")));
            }
            else
            {
                // A raw answer (curl -i): the same status line and content type, and the body's documented members.
                var lines = shown.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.StartsWith(lines[0].Trim(), actual, StringComparison.Ordinal);
                Assert.Contains(lines[1].Trim(), actual, StringComparison.OrdinalIgnoreCase);
                foreach (Match member in MemberOf().Matches(lines[^1]))
                {
                    Assert.Contains(member.Value, actual, StringComparison.Ordinal);
                }
            }
        }
    }

    // "accepted":true, "eventType":"message_created" …: the members whose values are fixed (not bytes or the token).
    [GeneratedRegex(@"""(accepted|receivedBy|eventType)"":(true|""[^""]*"")")]
    private static partial Regex MemberOf();

    private static async Task<string> BashAsync(string script, string workingDirectory)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, script + "\n" + await error);
        return (await output).ReplaceLineEndings("\n");
    }
}
