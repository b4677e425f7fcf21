// echo <port> <batch>: answers every datagram with a 300-byte reply, reading and sending up to <batch> per syscall.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static volatile int stop=0;static void onterm(int s){(void)s;stop=1;}
int main(int argc,char**argv){
  int port=atoi(argv[1]);int batch=atoi(argv[2]);if(batch>64)batch=64;
  signal(SIGTERM,onterm);
  int fd=socket(AF_INET,SOCK_DGRAM,0);int big=8<<20;setsockopt(fd,SOL_SOCKET,SO_RCVBUFFORCE,&big,sizeof big);
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(port)};inet_pton(AF_INET,"127.0.0.1",&a.sin_addr);
  if(bind(fd,(void*)&a,sizeof a)<0){perror("bind");return 1;}
  static char rb[64][65536];struct iovec riov[64];struct mmsghdr rm[64];struct sockaddr_in from[64];
  char reply[300];memset(reply,'y',sizeof reply);struct iovec siov[64];struct mmsghdr sm[64];
  for(int i=0;i<64;i++){riov[i].iov_base=rb[i];riov[i].iov_len=65536;memset(&rm[i],0,sizeof rm[i]);rm[i].msg_hdr.msg_iov=&riov[i];rm[i].msg_hdr.msg_iovlen=1;rm[i].msg_hdr.msg_name=&from[i];
    siov[i].iov_base=reply;siov[i].iov_len=sizeof reply;memset(&sm[i],0,sizeof sm[i]);sm[i].msg_hdr.msg_iov=&siov[i];sm[i].msg_hdr.msg_iovlen=1;sm[i].msg_hdr.msg_name=&from[i];sm[i].msg_hdr.msg_namelen=sizeof from[i];}
  long total=0;struct pollfd p={.fd=fd,.events=POLLIN};
  while(!stop){if(poll(&p,1,100)<=0)continue;
    for(;;){for(int i=0;i<batch;i++)rm[i].msg_hdr.msg_namelen=sizeof from[i];
      int n;if(batch==1){socklen_t l=sizeof from[0];ssize_t k=recvfrom(fd,rb[0],65536,MSG_DONTWAIT,(void*)&from[0],&l);n=k<0?-1:1;}
      else n=recvmmsg(fd,rm,batch,MSG_DONTWAIT,NULL);
      if(n<=0)break;total+=n;
      if(batch==1)sendto(fd,reply,sizeof reply,0,(void*)&from[0],sizeof from[0]);else sendmmsg(fd,sm,n,0);}}
  printf("answered %ld\n",total);return 0;}
