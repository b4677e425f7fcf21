// blast <port> <rate/s> <seconds>: sends 400-byte datagrams to 127.0.0.1:<port> at <rate>, counts replies.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  int port=atoi(argv[1]);double rate=atof(argv[2]);double secs=atof(argv[3]);
  int fd=socket(AF_INET,SOCK_DGRAM,0);int big=8<<20;setsockopt(fd,SOL_SOCKET,SO_RCVBUFFORCE,&big,sizeof big);setsockopt(fd,SOL_SOCKET,SO_SNDBUFFORCE,&big,sizeof big);
  struct sockaddr_in to={.sin_family=AF_INET,.sin_port=htons(port)};inet_pton(AF_INET,"127.0.0.1",&to.sin_addr);
  connect(fd,(void*)&to,sizeof to);
  char msg[400];memset(msg,'x',sizeof msg);memcpy(msg,"REGISTER sip:x SIP/2.0\r\n",24);
  struct mmsghdr mm[64];struct iovec iov[64];char rb[64][2048];struct iovec riov[64];struct mmsghdr rm[64];
  for(int i=0;i<64;i++){iov[i].iov_base=msg;iov[i].iov_len=sizeof msg;memset(&mm[i],0,sizeof mm[i]);mm[i].msg_hdr.msg_iov=&iov[i];mm[i].msg_hdr.msg_iovlen=1;
    riov[i].iov_base=rb[i];riov[i].iov_len=2048;memset(&rm[i],0,sizeof rm[i]);rm[i].msg_hdr.msg_iov=&riov[i];rm[i].msg_hdr.msg_iovlen=1;}
  long sent=0,recvd=0;double t0=now();
  for(;;){double t=now()-t0;if(t>=secs)break;long due=(long)(t*rate);
    while(sent<due){int n=due-sent;if(n>64)n=64;int k=sendmmsg(fd,mm,n,0);if(k<=0)break;sent+=k;}
    int r;while((r=recvmmsg(fd,rm,64,MSG_DONTWAIT,NULL))>0)recvd+=r;
    usleep(500);}
  double end=now()+0.5;while(now()<end){int r=recvmmsg(fd,rm,64,MSG_DONTWAIT,NULL);if(r>0)recvd+=r;else usleep(1000);}
  printf("sent %ld received %ld\n",sent,recvd);return 0;}
